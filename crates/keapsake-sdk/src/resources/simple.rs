//! A one-request builder shape shared by the commerce resources.

/// Declares a builder that sends one request (method, path, optional JSON body) and decodes
/// `$out` (or expects an empty success for `()`).
macro_rules! simple_call {
    ($(#[$doc:meta])* $name:ident -> ()) => {
        $(#[$doc])*
        #[derive(Debug, Clone)]
        #[must_use = "does nothing until .send().await"]
        pub struct $name {
            client: crate::client::Keap,
            method: reqwest::Method,
            target: String,
            body: Option<serde_json::Value>,
        }

        impl $name {
            #[allow(dead_code, reason = "not every builder has a body")]
            pub(crate) fn new(
                client: crate::client::Keap,
                method: reqwest::Method,
                target: String,
                body: Option<serde_json::Value>,
            ) -> Self {
                $name { client, method, target, body }
            }

            /// Sends the request.
            ///
            /// # Errors
            ///
            /// [`Error::NotFound`](crate::Error::NotFound),
            /// [`Error::Validation`](crate::Error::Validation) with Keap's message, or any
            /// request error.
            pub async fn send(self) -> crate::error::Result<()> {
                let mut req = self.client.request(self.method, self.target);
                if let Some(b) = &self.body {
                    req = req.json(b);
                }
                req.send_empty().await
            }
        }
    };
    ($(#[$doc:meta])* $name:ident -> $out:ty) => {
        $(#[$doc])*
        #[derive(Debug, Clone)]
        #[must_use = "does nothing until .send().await"]
        pub struct $name {
            client: crate::client::Keap,
            method: reqwest::Method,
            target: String,
            body: Option<serde_json::Value>,
        }

        impl $name {
            #[allow(dead_code, reason = "not every builder has a body")]
            pub(crate) fn new(
                client: crate::client::Keap,
                method: reqwest::Method,
                target: String,
                body: Option<serde_json::Value>,
            ) -> Self {
                $name { client, method, target, body }
            }

            /// Sends the request.
            ///
            /// # Errors
            ///
            /// [`Error::NotFound`](crate::Error::NotFound),
            /// [`Error::Validation`](crate::Error::Validation) with Keap's message, or any
            /// request error.
            pub async fn send(self) -> crate::error::Result<$out> {
                let mut req = self.client.request(self.method, self.target);
                if let Some(b) = &self.body {
                    req = req.json(b);
                }
                req.send_json().await
            }
        }
    };
}

pub(crate) use simple_call;

/// Serialises a request body (the SDK's own types always serialise).
pub(crate) fn body<T: serde::Serialize>(v: &T) -> Option<serde_json::Value> {
    Some(serde_json::to_value(v).unwrap_or(serde_json::Value::Null))
}
