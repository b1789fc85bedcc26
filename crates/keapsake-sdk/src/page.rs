//! One page of a REST v1 list, and a stream over all pages (`keap/rest-v1.md` §0.3).
//!
//! A v1 list is `{"<items>": [...], "count": <total>, "next": "<absolute url>", "previous": …}`.
//! Keap puts a `next` link on **every** page, even past the end, so [`Page::has_next`] decides by
//! the numbers: no more pages when this page was empty, or when the next offset reaches `count`.
//! [`Page::next_page`] follows the server's link as given (moved onto the client's API origin if
//! the server named another host, so credentials never leave it).

use std::collections::VecDeque;

use futures_util::stream::{self, BoxStream, StreamExt, TryStreamExt};
use reqwest::Method;
use serde::de::DeserializeOwned;
use url::Url;

use crate::client::Keap;
use crate::error::{Error, Result};
use crate::quota::Quota;
use crate::request::RawResponse;

/// One page of a list, with the links to its neighbours.
pub struct Page<T> {
    items: Vec<T>,
    fetched: usize,
    count: Option<u64>,
    sync_token: Option<String>,
    next: Option<Url>,
    previous: Option<Url>,
    url: Url,
    quota: Quota,
    key: &'static str,
    client: Keap,
}

impl<T: std::fmt::Debug> std::fmt::Debug for Page<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Page")
            .field("items", &self.items)
            .field("count", &self.count)
            .field("sync_token", &self.sync_token)
            .field("next", &self.next.as_ref().map(Url::as_str))
            .field("previous", &self.previous.as_ref().map(Url::as_str))
            .finish_non_exhaustive()
    }
}

fn query_u64(url: &Url, key: &str) -> Option<u64> {
    url.query_pairs()
        .find(|(k, _)| k == key)
        .and_then(|(_, v)| v.parse().ok())
}

impl<T: DeserializeOwned + Send + 'static> Page<T> {
    /// Reads a list envelope whose items are under `key`.
    pub(crate) fn from_response(
        client: Keap,
        key: &'static str,
        resp: RawResponse,
    ) -> Result<Self> {
        let resp = resp.error_for_status()?;
        let status = resp.status().as_u16();
        let mut body: serde_json::Map<String, serde_json::Value> = resp.json()?;
        let items: Vec<T> = match body.remove(key) {
            None | Some(serde_json::Value::Null) => Vec::new(),
            Some(v) => serde_json::from_value(v).map_err(|e| {
                Error::unexpected(
                    status,
                    format!("`{key}` items are not the expected shape: {e}"),
                )
            })?,
        };
        let link = |name: &str| -> Option<Url> {
            let s = body.get(name)?.as_str()?;
            if s.is_empty() {
                return None;
            }
            resp.url().join(s).ok()
        };
        Ok(Page {
            fetched: items.len(),
            count: body.get("count").and_then(serde_json::Value::as_u64),
            sync_token: body
                .get("sync_token")
                .and_then(serde_json::Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_owned),
            next: link("next"),
            previous: link("previous"),
            url: resp.url().clone(),
            quota: resp.quota().clone(),
            items,
            key,
            client,
        })
    }

    /// The items on this page.
    pub fn items(&self) -> &[T] {
        &self.items
    }

    /// The items, by value.
    pub fn into_items(self) -> Vec<T> {
        self.items
    }

    /// How many items this page holds.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True when this page holds no items.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Iterates over the items on this page.
    pub fn iter(&self) -> std::slice::Iter<'_, T> {
        self.items.iter()
    }

    /// `count`: how many items match the query in total (not the page size).
    pub fn count(&self) -> Option<u64> {
        self.count
    }

    /// `sync_token`, which task lists carry (`keap/rest-v1.md` §0.3): pass it to
    /// [`ListTasks::sync_token`](crate::resources::ListTasks::sync_token) later to list only
    /// the tasks changed since this page was read. `None` for other lists.
    pub fn sync_token(&self) -> Option<&str> {
        self.sync_token.as_deref()
    }

    /// The server's `next` link.
    pub fn next_url(&self) -> Option<&Url> {
        self.next.as_ref()
    }

    /// The server's `previous` link.
    pub fn previous_url(&self) -> Option<&Url> {
        self.previous.as_ref()
    }

    /// The quota headers of the response that brought this page.
    pub fn quota(&self) -> &Quota {
        &self.quota
    }

    /// Whether another page may hold items: this page was not empty, the server gave a
    /// `next` link other than this page's own URL, and (when `count` is known) the next offset is
    /// below it. Without `count`, a page shorter than the link's `limit` is taken as the last.
    pub fn has_next(&self) -> bool {
        let Some(next) = &self.next else { return false };
        if self.fetched == 0 || *next == self.url {
            return false;
        }
        if let (Some(count), Some(offset)) = (self.count, query_u64(next, "offset")) {
            return offset < count;
        }
        match query_u64(next, "limit") {
            Some(limit) => self.fetched as u64 >= limit,
            None => true,
        }
    }

    /// Fetches the next page by following the server's `next` link, or `None` after the last.
    ///
    /// # Errors
    ///
    /// As for any request: transport, auth, quota, or an unreadable page.
    pub async fn next_page(&self) -> Result<Option<Page<T>>> {
        if !self.has_next() {
            return Ok(None);
        }
        let Some(next) = &self.next else {
            return Ok(None);
        };
        self.fetch(next.as_str()).await.map(Some)
    }

    /// Fetches the previous page, or `None` on the first.
    ///
    /// # Errors
    ///
    /// As [`next_page`](Self::next_page).
    pub async fn previous_page(&self) -> Result<Option<Page<T>>> {
        match &self.previous {
            Some(p) if query_u64(&self.url, "offset").unwrap_or(0) > 0 && *p != self.url => {
                self.fetch(p.as_str()).await.map(Some)
            }
            _ => Ok(None),
        }
    }

    async fn fetch(&self, url: &str) -> Result<Page<T>> {
        fetch_page(self.client.clone(), self.key, url.to_owned()).await
    }

    /// Every item of this page and the pages after it, fetched as the stream is read.
    pub fn into_stream(self) -> BoxStream<'static, Result<T>> {
        struct State<T> {
            items: VecDeque<T>,
            page: Option<Page<T>>,
        }
        let mut page = self;
        let items: VecDeque<T> = std::mem::take(&mut page.items).into();
        stream::try_unfold(
            State {
                items,
                page: Some(page),
            },
            |mut st| async move {
                loop {
                    if let Some(item) = st.items.pop_front() {
                        return Ok(Some((item, st)));
                    }
                    let Some(page) = st.page.take() else {
                        return Ok(None);
                    };
                    let next = match &page.next {
                        Some(n) if page.has_next() => n.to_string(),
                        _ => return Ok(None),
                    };
                    let mut next = fetch_page::<T>(page.client.clone(), page.key, next).await?;
                    st.items = std::mem::take(&mut next.items).into();
                    st.page = Some(next);
                }
            },
        )
        .boxed()
    }
}

impl<T> IntoIterator for Page<T> {
    type Item = T;
    type IntoIter = std::vec::IntoIter<T>;

    fn into_iter(self) -> Self::IntoIter {
        self.items.into_iter()
    }
}

impl<'a, T> IntoIterator for &'a Page<T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;

    fn into_iter(self) -> Self::IntoIter {
        self.items.iter()
    }
}

/// Fetches a page by absolute URL (a `next` or `previous` link).
async fn fetch_page<T: DeserializeOwned + Send + 'static>(
    client: Keap,
    key: &'static str,
    url: String,
) -> Result<Page<T>> {
    let resp = client
        .request(Method::GET, url)
        .rebase_foreign_origin()
        .send()
        .await?;
    Page::from_response(client, key, resp)
}

/// A stream over every item of a list, starting with the request `first`.
pub(crate) fn stream_from<T, F>(first: F) -> BoxStream<'static, Result<T>>
where
    T: DeserializeOwned + Send + 'static,
    F: std::future::Future<Output = Result<Page<T>>> + Send + 'static,
{
    stream::once(first)
        .map_ok(Page::into_stream)
        .try_flatten()
        .boxed()
}
