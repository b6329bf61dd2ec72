//! A server on a free loopback port, a blocking WebSocket client for it, and the schema
//! check applied to every message the client receives.

use reflow_protocol::{serve, RuntimeConfig, ServeConfig};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Mutex, OnceLock};
use std::time::{Duration, Instant};
use tungstenite::client::IntoClientRequest;
use tungstenite::{Message as Frame, WebSocket};

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A plugin built by `cargo xtask build-plugins`.
pub fn plugin(name: &str) -> PathBuf {
    let path = workspace_root().join("target/plugins").join(name);
    assert!(path.is_file(), "{} is missing: run `cargo xtask build-plugins` first", path.display());
    path
}

/// A fresh folder under the system temp dir holding copies of `plugins`.
pub fn components_dir(test: &str, plugins: &[&str]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("reflow-protocol-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for name in plugins {
        std::fs::copy(plugin(name), dir.join(name)).unwrap();
    }
    dir
}

/// Starts a server on 127.0.0.1, any free port, for the rest of the test binary's life.
pub fn start_server(runtime: RuntimeConfig) -> SocketAddr {
    serve_with(ServeConfig { runtime, ..ServeConfig::default() })
}

/// Like [`start_server`], with every setting of the server given (its address is replaced).
pub fn serve_with(config: ServeConfig) -> SocketAddr {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let config = ServeConfig { host: "127.0.0.1".into(), port: 0, ..config };
        if let Err(e) = serve(config, |addr| tx.send(addr).unwrap()) {
            panic!("server failed: {e}");
        }
    });
    rx.recv_timeout(Duration::from_secs(10)).expect("the server did not start listening")
}

pub struct Client {
    socket: WebSocket<TcpStream>,
    /// Sent with every message when set.
    pub secret: Option<String>,
}

impl Client {
    /// Connects asking for the `noflo` subprotocol and checks the server chose it.
    pub fn connect(addr: SocketAddr) -> Client {
        Client::connect_with(addr, &[]).expect("WebSocket handshake")
    }

    /// Connects with extra handshake `headers` (`Origin`, `Host`); the HTTP status of a refusal.
    pub fn connect_with(addr: SocketAddr, headers: &[(&'static str, &str)]) -> Result<Client, u16> {
        let stream = TcpStream::connect(addr).unwrap();
        stream.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
        let mut request = format!("ws://{addr}/").into_client_request().unwrap();
        request.headers_mut().insert("Sec-WebSocket-Protocol", "noflo".parse().unwrap());
        for (name, value) in headers {
            request.headers_mut().insert(*name, value.parse().unwrap());
        }
        match tungstenite::client(request, stream) {
            Ok((socket, response)) => {
                assert_eq!(response.headers().get("Sec-WebSocket-Protocol").and_then(|v| v.to_str().ok()), Some("noflo"));
                Ok(Client { socket, secret: None })
            }
            Err(tungstenite::HandshakeError::Failure(tungstenite::Error::Http(response))) => Err(response.status().as_u16()),
            Err(e) => panic!("handshake failed otherwise than by an HTTP refusal: {e}"),
        }
    }

    /// Reads until the server closes the connection; the close code it gave, if any. Panics
    /// on a text message (the server was expected to say nothing more).
    pub fn closed_by_server(&mut self) -> Option<u16> {
        let deadline = Instant::now() + Duration::from_secs(10); // a hang guard, not a timing claim
        loop {
            match self.socket.read() {
                Ok(Frame::Close(frame)) => return frame.map(|f| u16::from(f.code)),
                Ok(Frame::Text(text)) => panic!("expected the connection to close, got {text}"),
                Ok(_) => {}
                Err(tungstenite::Error::Io(e)) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                    assert!(Instant::now() < deadline, "the server did not close the connection within 10 s");
                }
                Err(_) => return None,
            }
        }
    }

    pub fn send(&mut self, protocol: &str, command: &str, payload: Value) {
        let mut message = json!({"protocol": protocol, "command": command, "payload": payload});
        if let Some(secret) = &self.secret {
            message["secret"] = json!(secret);
        }
        self.send_text(&message.to_string());
    }

    pub fn send_text(&mut self, text: &str) {
        self.socket.send(Frame::text(text)).unwrap();
    }

    /// Sends without unwrapping: the server may close the connection while it is written.
    pub fn try_send_text(&mut self, text: String) -> Result<(), tungstenite::Error> {
        self.socket.send(Frame::text(text))
    }

    pub fn send_binary(&mut self, bytes: Vec<u8>) {
        self.socket.send(Frame::binary(bytes)).unwrap();
    }

    /// The next message within `wait`, schema-checked; `None` if none came.
    pub fn try_recv(&mut self, wait: Duration) -> Option<Value> {
        let deadline = Instant::now() + wait;
        loop {
            match self.socket.read() {
                Ok(Frame::Text(text)) => {
                    let message: Value = serde_json::from_str(&text).expect("the runtime sent invalid JSON");
                    check_schema(&message);
                    return Some(message);
                }
                Ok(_) => {}
                Err(tungstenite::Error::Io(e))
                    if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) =>
                {
                    if Instant::now() >= deadline {
                        return None;
                    }
                }
                Err(e) => panic!("connection failed: {e}"),
            }
        }
    }

    pub fn recv(&mut self) -> Value {
        self.try_recv(Duration::from_secs(10)).expect("no message from the runtime within 10 s")
    }

    /// Skips messages until `protocol:command` arrives; returns its payload.
    pub fn expect(&mut self, protocol: &str, command: &str) -> Value {
        self.expect_within(protocol, command, Duration::from_secs(10))
    }

    /// [`Client::expect`] with a longer hang guard (a build's answer), not a timing claim.
    pub fn expect_within(&mut self, protocol: &str, command: &str, wait: Duration) -> Value {
        self.until(protocol, command, wait).1
    }

    /// Reads until `protocol:command` arrives within `wait` (a hang guard, not a timing claim):
    /// the messages before it, and its payload.
    pub fn until(&mut self, protocol: &str, command: &str, wait: Duration) -> (Vec<Value>, Value) {
        let mut skipped = Vec::new();
        let deadline = Instant::now() + wait;
        while Instant::now() < deadline {
            if let Some(message) = self.try_recv(Duration::from_millis(500)) {
                if message["protocol"] == protocol && message["command"] == command {
                    return (skipped, message["payload"].clone());
                }
                skipped.push(message);
            }
        }
        panic!("no {protocol}:{command} within {wait:?}; got {skipped:#?}");
    }

    /// Sends and returns the next message, which must be `protocol:reply`.
    pub fn request(&mut self, protocol: &str, command: &str, payload: Value, reply: &str) -> Value {
        self.send(protocol, command, payload);
        let message = self.recv();
        assert_eq!((message["protocol"].as_str(), message["command"].as_str()), (Some(protocol), Some(reply)), "{message:#}");
        message["payload"].clone()
    }
}

/// The protocol's schemas in one document, so their `#/shared/...` and `#/graph/...`
/// references resolve as JSON pointers. Their draft-04 `id`s would move the base of those
/// references elsewhere, so string-valued `id` keywords are dropped.
fn schema_root() -> &'static Value {
    static ROOT: OnceLock<Value> = OnceLock::new();
    ROOT.get_or_init(|| {
        let dir = workspace_root().join("tests/fbp-protocol/node_modules/fbp-protocol/schema/json");
        assert!(
            dir.is_dir(),
            "{} is missing: install the pinned fbp-protocol package with `npm ci --prefix tests/fbp-protocol` \
             (`cargo xtask test` does it)",
            dir.display()
        );
        let mut root = serde_json::Map::new();
        for name in ["shared", "runtime", "graph", "component", "network", "trace"] {
            let text = std::fs::read_to_string(dir.join(format!("{name}.json"))).unwrap();
            let mut schema: Value = serde_json::from_str(&text).unwrap();
            drop_ids(&mut schema);
            root.insert(name.to_string(), schema);
        }
        Value::Object(root)
    })
}

fn drop_ids(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if map.get("id").is_some_and(Value::is_string) {
                map.remove("id");
            }
            map.values_mut().for_each(drop_ids);
        }
        Value::Array(items) => items.iter_mut().for_each(drop_ids),
        _ => {}
    }
}

/// Why `message` does not validate against `{protocol}/output/{command}`, if it does not.
pub fn schema_errors(message: &Value) -> Result<(), String> {
    static VALIDATORS: OnceLock<Mutex<HashMap<String, jsonschema::Validator>>> = OnceLock::new();
    let protocol = message["protocol"].as_str().ok_or("no protocol")?;
    let command = message["command"].as_str().ok_or("no command")?;
    let root = schema_root();
    // The one reply the protocol names (as an output of the `network:persist` capability)
    // without a schema for it: checked for its envelope and the keys we send.
    if (protocol, command) == ("network", "persist") {
        let keys: Vec<&String> = message.as_object().map(|m| m.keys().collect()).unwrap_or_default();
        let graphs_only = message["payload"].as_object().is_some_and(|p| p.keys().all(|k| k == "graphs"));
        return if graphs_only && keys.iter().all(|k| ["protocol", "command", "payload", "responseTo"].contains(&k.as_str())) {
            Ok(())
        } else {
            Err("network:persist carries {graphs} only".into())
        };
    }
    if root[protocol]["output"][command].is_null() {
        return Err(format!("the protocol defines no output message {protocol}:{command}"));
    }
    let mut validators = VALIDATORS.get_or_init(Mutex::default).lock().unwrap_or_else(|p| p.into_inner());
    let key = format!("{protocol}/{command}");
    if !validators.contains_key(&key) {
        let mut schema = root.clone();
        schema["$ref"] = json!(format!("#/{protocol}/output/{command}"));
        let validator = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft4)
            .should_validate_formats(true)
            .build(&schema)
            .map_err(|e| format!("schema {key} does not compile: {e}"))?;
        validators.insert(key.clone(), validator);
    }
    let errors: Vec<String> = validators[&key].iter_errors(message).map(|e| format!("{} at {}", e, e.instance_path())).collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors.join("; "))
    }
}

pub fn check_schema(message: &Value) {
    if let Err(errors) = schema_errors(message) {
        panic!("the runtime sent a message its protocol's schema rejects: {errors}\n{message:#}");
    }
}
