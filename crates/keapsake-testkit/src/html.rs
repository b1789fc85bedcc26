//! Just enough of a browser to walk keapsake's HTML forms: a cookie jar, no automatic redirects,
//! and a small, forgiving scanner for `<form>`, `<input>` and `<button>` (the pages are ours and
//! simple; a full HTML parser would be a heavy dependency for this).

use url::Url;

/// A cookie-keeping HTTP client that never follows redirects.
#[derive(Debug, Clone)]
pub struct Browser {
    client: reqwest::Client,
}

impl Default for Browser {
    fn default() -> Self {
        Self::new()
    }
}

/// A fetched page.
#[derive(Debug, Clone)]
pub struct Page {
    /// The URL fetched.
    pub url: Url,
    /// HTTP status.
    pub status: u16,
    /// `Location`, if any.
    pub location: Option<String>,
    /// Body text.
    pub body: String,
    /// Every response header, lower-cased names.
    pub headers: Vec<(String, String)>,
}

/// One form on a page.
#[derive(Debug, Clone, Default)]
pub struct Form {
    /// `action` (resolved later against the page URL).
    pub action: String,
    /// `method`, lower-case.
    pub method: String,
    /// Every `<input>` as (name, value, type).
    pub inputs: Vec<(String, String, String)>,
    /// Every named `<button>` as (name, value).
    pub buttons: Vec<(String, String)>,
}

impl Form {
    /// Whether an input or button has this name.
    pub fn has_field(&self, name: &str) -> bool {
        self.inputs.iter().any(|i| i.0 == name) || self.buttons.iter().any(|b| b.0 == name)
    }

    /// The value of a hidden (or any) input.
    pub fn value(&self, name: &str) -> Option<&str> {
        self.inputs
            .iter()
            .find(|i| i.0 == name)
            .map(|i| i.1.as_str())
    }
}

impl Browser {
    /// A new browser with an empty cookie jar.
    ///
    /// # Panics
    /// If reqwest cannot build a client (no TLS backend), which cannot happen with our features.
    pub fn new() -> Self {
        Self {
            client: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("a reqwest client builds"),
        }
    }

    /// The underlying client (shares the cookie jar).
    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// GETs a URL.
    ///
    /// # Panics
    /// On a transport error.
    pub async fn get(&self, url: &str) -> Page {
        let r = self.client.get(url).send().await.expect("GET answers");
        Page::read(r).await
    }

    /// Submits `form` from `page` with its hidden inputs, `fields` filled in, and `button` pressed.
    /// A same-site redirect is followed once (GET), as a browser would.
    ///
    /// # Panics
    /// On a transport error.
    pub async fn submit(
        &self,
        page: &Page,
        form: &Form,
        fields: &[(&str, &str)],
        button: Option<(&str, &str)>,
    ) -> Page {
        let mut body: Vec<(String, String)> = form
            .inputs
            .iter()
            .filter(|i| i.2 == "hidden")
            .map(|i| (i.0.clone(), i.1.clone()))
            .collect();
        for (k, v) in fields {
            body.push(((*k).to_string(), (*v).to_string()));
        }
        if let Some((k, v)) = button {
            body.push((k.to_string(), v.to_string()));
        }
        let action = page.url.join(&form.action).expect("a valid form action");
        let origin = page.url.origin().ascii_serialization();
        let r = self
            .client
            .post(action.clone())
            .header("origin", origin)
            .form(&body)
            .send()
            .await
            .expect("POST answers");
        let p = Page::read(r).await;
        // Follow keapsake's own redirects between its sign-in pages once, like a browser after a
        // form post; a redirect to the client (even a same-origin one) is returned as is.
        if let Some(loc) = &p.location
            && let Ok(next) = action.join(loc)
            && next.origin() == action.origin()
            && next.path().starts_with("/app/oauth/")
            && matches!(p.status, 302 | 303)
        {
            return self.get(next.as_str()).await;
        }
        p
    }
}

impl Page {
    async fn read(r: reqwest::Response) -> Page {
        let url = r.url().clone();
        let status = r.status().as_u16();
        let headers: Vec<(String, String)> = r
            .headers()
            .iter()
            .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
            .collect();
        let location = r
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body = r.text().await.unwrap_or_default();
        Page {
            url,
            status,
            location,
            body,
            headers,
        }
    }

    /// A response header.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|h| h.0.eq_ignore_ascii_case(name))
            .map(|h| h.1.as_str())
    }

    /// If this response redirects to the client's redirect URI, the full `Location`.
    pub fn redirect_to_client(&self, redirect_uri: &str) -> Option<String> {
        self.location
            .as_ref()
            .filter(|l| l.starts_with(redirect_uri))
            .cloned()
    }

    /// Every form on the page.
    pub fn forms(&self) -> Vec<Form> {
        let mut out = Vec::new();
        let mut rest = self.body.as_str();
        while let Some(start) = rest.find("<form") {
            let after = &rest[start..];
            let end = after.find("</form>").unwrap_or(after.len());
            let chunk = &after[..end];
            let tag_end = chunk.find('>').unwrap_or(chunk.len());
            let tag = &chunk[..tag_end];
            let mut f = Form {
                action: attr(tag, "action").unwrap_or_default(),
                method: attr(tag, "method")
                    .unwrap_or_else(|| "get".into())
                    .to_ascii_lowercase(),
                ..Form::default()
            };
            for t in tags(chunk, "<input") {
                if let Some(name) = attr(t, "name") {
                    f.inputs.push((
                        name,
                        attr(t, "value").unwrap_or_default(),
                        attr(t, "type").unwrap_or_else(|| "text".into()),
                    ));
                }
            }
            for t in tags(chunk, "<button") {
                if let Some(name) = attr(t, "name") {
                    f.buttons.push((name, attr(t, "value").unwrap_or_default()));
                }
            }
            out.push(f);
            rest = &after[end.min(after.len())..];
            if end == after.len() {
                break;
            }
            rest = &rest["</form>".len().min(rest.len())..];
        }
        out
    }
}

fn tags<'a>(s: &'a str, open: &str) -> Vec<&'a str> {
    let mut v = Vec::new();
    let mut rest = s;
    while let Some(i) = rest.find(open) {
        let t = &rest[i..];
        let e = t.find('>').unwrap_or(t.len());
        v.push(&t[..e]);
        rest = &t[e..];
    }
    v
}

/// Reads `name="value"` (or single quotes) from a tag, decoding the few entities askama emits.
fn attr(tag: &str, name: &str) -> Option<String> {
    let mut search = tag;
    loop {
        let i = search.find(name)?;
        let before_ok = i == 0 || search.as_bytes()[i - 1].is_ascii_whitespace();
        let after = &search[i + name.len()..];
        let after_trim = after.trim_start();
        if before_ok && after_trim.starts_with('=') {
            let v = after_trim[1..].trim_start();
            let q = v.chars().next()?;
            if q == '"' || q == '\'' {
                let inner = &v[1..];
                let end = inner.find(q)?;
                return Some(unescape(&inner[..end]));
            }
            let end = v
                .find(|c: char| c.is_whitespace() || c == '>')
                .unwrap_or(v.len());
            return Some(unescape(&v[..end]));
        }
        search = &search[i + name.len()..];
    }
}

fn unescape(s: &str) -> String {
    s.replace("&#38;", "&")
        .replace("&amp;", "&")
        .replace("&#60;", "<")
        .replace("&lt;", "<")
        .replace("&#62;", ">")
        .replace("&gt;", ">")
        .replace("&#34;", "\"")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_forms_inputs_and_buttons() {
        let p = Page {
            url: Url::parse("http://x/app/oauth/authorize?a=1").expect("url"),
            status: 200,
            location: None,
            headers: vec![],
            body: r#"<form method="post" action="/app/oauth/authorize?a=1&#38;b=2"><input type="hidden" name="csrf_token" value="abc"><input name="email"><button name="decision" value="allow">Allow</button></form>"#.into(),
        };
        let f = &p.forms()[0];
        assert_eq!(f.action, "/app/oauth/authorize?a=1&b=2");
        assert_eq!(f.value("csrf_token"), Some("abc"));
        assert!(f.has_field("email"));
        assert_eq!(
            f.buttons,
            vec![("decision".to_string(), "allow".to_string())]
        );
    }
}
