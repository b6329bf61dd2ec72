//! Just enough HTTP/1.1 for the inspector: one request per connection (`Connection: close`),
//! a request head read with a size and time bound and parsed by `httparse`, and responses
//! written whole, or as a server-sent event stream.
//!
//! Why not a web framework: the page needs three routes and one stream, and every request is
//! checked the same way before anything else (`access`); a framework would add a second
//! async runtime and many crates to the binary for that.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// The largest request head accepted (a browser's is about 1 KiB).
const MAX_HEAD: usize = 16 << 10;
/// How long a client may take to send its request.
const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// A parsed request: method, path, query parameters, the headers access checks need.
#[derive(Debug, Default)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub host: Option<String>,
    pub origin: Option<String>,
}

impl Request {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

/// Reads and parses one request head; `Err` says why it is not one.
pub fn read_request(stream: &mut TcpStream) -> Result<Request, String> {
    stream.set_read_timeout(Some(READ_TIMEOUT)).map_err(|e| e.to_string())?;
    let mut head = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    loop {
        let n = stream.read(&mut chunk).map_err(|e| format!("reading the request: {e}"))?;
        if n == 0 {
            return Err("the connection closed before a whole request head".into());
        }
        head.extend_from_slice(&chunk[..n]);
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut parsed = httparse::Request::new(&mut headers);
        match parsed.parse(&head) {
            Ok(httparse::Status::Complete(_)) => return Ok(request_of(&parsed)),
            Ok(httparse::Status::Partial) if head.len() < MAX_HEAD => continue,
            Ok(httparse::Status::Partial) => return Err(format!("request head over {MAX_HEAD} bytes")),
            Err(e) => return Err(format!("malformed request: {e}")),
        }
    }
}

fn request_of(parsed: &httparse::Request) -> Request {
    let header = |name: &str| {
        parsed.headers.iter().find(|h| h.name.eq_ignore_ascii_case(name)).map(|h| String::from_utf8_lossy(h.value).into_owned())
    };
    let target = parsed.path.unwrap_or("/");
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    Request {
        method: parsed.method.unwrap_or("").to_string(),
        path: path.to_string(),
        query: form_urlencoded::parse(query.as_bytes()).into_owned().collect(),
        host: header("Host"),
        origin: header("Origin"),
    }
}

/// Headers on every response: no caching (the token is in the URL), no framing by another
/// site, no sniffing, no referrer (which would carry the token), and only our own assets.
const SAFE: &str = "Cache-Control: no-store\r\nX-Frame-Options: DENY\r\nX-Content-Type-Options: nosniff\r\nReferrer-Policy: no-referrer\r\nContent-Security-Policy: default-src 'self'; img-src 'self' data:; frame-ancestors 'none'\r\n";

/// Writes a whole response and ends the connection's part in it.
pub fn respond(stream: &mut TcpStream, status: &str, content_type: &str, body: &[u8]) {
    let head = format!("HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n{SAFE}\r\n", body.len());
    // A client that left early is not an error of ours.
    let _ = stream.write_all(head.as_bytes()).and_then(|_| stream.write_all(body)).and_then(|_| stream.flush());
}

/// Starts a server-sent event stream; each [`event`] then writes one event.
pub fn start_events(stream: &mut TcpStream) -> std::io::Result<()> {
    let head = format!("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n{SAFE}\r\n");
    stream.write_all(head.as_bytes())?;
    stream.flush()
}

/// One server-sent event: `kind` and its JSON (one line: JSON text holds no raw newline).
pub fn event(stream: &mut TcpStream, kind: &str, json: &str) -> std::io::Result<()> {
    stream.write_all(format!("event: {kind}\ndata: {json}\n\n").as_bytes())?;
    stream.flush()
}
