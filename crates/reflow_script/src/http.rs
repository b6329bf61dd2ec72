//! The plugin's HTTP client (Extism's `http_request`), for granted hosts only.
//!
//! Both backends serve `http_request` with this one function, so the same grant means the
//! same thing on each: the host of *every* hop is checked against the grant (a granted host
//! answering with a redirect to a host that is not granted gets an error, and the second
//! request is never sent: Extism's own client checks only the first URL), the whole exchange
//! runs within the time the call has left, and a response body larger than the call's output
//! limit is refused without being read further.
//!
//! The client is `ureq` (blocking, rustls), the one the `extism` crate already links, so
//! there is one HTTP stack in the binary.

use crate::Limit;
use std::collections::BTreeMap;
use std::time::Duration;

/// How many redirects one request may follow (as Extism's client, ureq's default).
const MAX_REDIRECTS: usize = 10;

/// Extism's `HttpRequest`: the JSON a PDK passes to `http_request`.
#[derive(serde::Deserialize)]
struct Request {
    url: String,
    #[serde(default)]
    method: Option<String>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
}

/// What a request got back.
pub(crate) struct Response {
    pub status: u16,
    pub body: Vec<u8>,
}

/// Why a request failed: one line, and the limit it hit if that was the reason.
#[derive(Debug)]
pub(crate) struct Failure {
    pub limit: Option<Limit>,
    pub reason: String,
}

impl Failure {
    fn new(reason: String) -> Failure {
        Failure { limit: None, reason }
    }
}

/// The host of `url` matches one of `granted` (globs, as Extism's `allowed_hosts`).
fn allowed(granted: &[String], url: &url::Url) -> bool {
    let host = url.host_str().unwrap_or_default();
    granted.iter().any(|grant| match glob::Pattern::new(grant) {
        Ok(pattern) => pattern.matches(host),
        Err(_) => grant == host,
    })
}

/// The refusal both backends give for a host that is not granted (Extism's words).
pub(crate) fn not_allowed(url: &str) -> String {
    format!("HTTP request to {url} is not allowed")
}

/// The URL of a request's JSON, for the refusal when no host is granted at all.
pub(crate) fn request_url(request: &[u8]) -> String {
    serde_json::from_slice::<Request>(request).map(|r| r.url).unwrap_or_default()
}

/// Sends the request `request` (Extism's JSON) with `body` to a granted host, following
/// redirects to granted hosts only, within `time_left`, reading at most `max_body` bytes.
pub(crate) fn send(
    granted: &[String],
    request: &[u8],
    body: Option<&[u8]>,
    time_left: Duration,
    max_body: u64,
) -> Result<Response, Failure> {
    let request: Request =
        serde_json::from_slice(request).map_err(|e| Failure::new(format!("http_request: the request is not valid JSON: {e}")))?;
    let mut url = url::Url::parse(&request.url).map_err(|e| Failure::new(format!("http_request: invalid URL {:?}: {e}", request.url)))?;
    if !allowed(granted, &url) {
        return Err(Failure::new(not_allowed(&request.url)));
    }
    let deadline = std::time::Instant::now() + time_left;
    let agent: ureq::Agent = ureq::Agent::config_builder()
        // Redirects are followed here, one hop at a time, so that each is checked.
        .max_redirects(0)
        .http_status_as_error(false)
        .build()
        .into();
    let mut method = request.method.as_deref().unwrap_or("GET").to_uppercase();
    let mut body = body;
    for _ in 0..=MAX_REDIRECTS {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            return Err(Failure { limit: Some(Limit::Time), reason: "timeout".into() });
        }
        let mut builder = ureq::http::Request::builder().method(method.as_str()).uri(url.as_str());
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
        let built = builder.body(body.unwrap_or_default()).map_err(|e| Failure::new(format!("http_request: {e}")))?;
        let prepared = agent.configure_request(built).timeout_global(Some(left)).build();
        let response = agent.run(prepared).map_err(|e| match e {
            ureq::Error::Timeout(_) => Failure { limit: Some(Limit::Time), reason: "timeout".into() },
            other => Failure::new(format!("http_request to {url}: {other}")),
        })?;
        let status = response.status();
        if status.is_redirection() {
            if let Some(location) = response.headers().get("location").and_then(|l| l.to_str().ok()) {
                let next = url.join(location).map_err(|e| Failure::new(format!("http_request: bad redirect from {url}: {e}")))?;
                if !allowed(granted, &next) {
                    return Err(Failure::new(format!("{} (redirected from {url})", not_allowed(next.as_str()))));
                }
                // As browsers and ureq do: 301-303 go on as a GET without the body.
                if matches!(status.as_u16(), 301..=303) {
                    method = "GET".into();
                    body = None;
                }
                url = next;
                continue;
            }
        }
        let body = response.into_body().with_config().limit(max_body).read_to_vec().map_err(|e| match e {
            ureq::Error::BodyExceedsLimit(_) => Failure { limit: Some(Limit::Output), reason: "the HTTP response is over the output limit".into() },
            ureq::Error::Timeout(_) => Failure { limit: Some(Limit::Time), reason: "timeout".into() },
            other => Failure::new(format!("http_request to {url}: reading the response: {other}")),
        })?;
        return Ok(Response { status: status.as_u16(), body });
    }
    Err(Failure::new(format!("http_request: more than {MAX_REDIRECTS} redirects from {}", request.url)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grants_are_host_globs() {
        let granted = ["*.example.com".to_string(), "127.0.0.1".to_string()];
        let ok = |u: &str| allowed(&granted, &url::Url::parse(u).unwrap());
        assert!(ok("https://api.example.com/x"));
        assert!(ok("http://127.0.0.1:8080/"));
        assert!(!ok("http://example.org/"));
        assert!(!ok("http://127.0.0.2/"));
    }
}
