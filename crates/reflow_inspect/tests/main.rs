//! The inspector over real HTTP: who is refused (no token, a wrong one, another site's
//! `Origin`, a rebound `Host`), and what a page's event stream carries during and after a run.
//! The browser test is `crates/reflow_cli/tests/inspect.rs` (it needs the `reflow` binary).

// Requests without the token, with a foreign Origin or Host: refused before anything is read.
mod access;
// The event stream of a running graph: hello, growing counts, the end with its table.
mod stream;
// `reflow serve`'s inspector: one server, runs one after another, pages that follow.
mod follow;
// A plugin hot-swapped into a running graph: the swap event, the actor's version.
mod swaps;

mod support {
    use reflow_inspect::{Allowlist, Inspector};
    use reflow_network::{ActorFailure, Graph, Network, Observer};
    use reflow_abi::Message;
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpStream;
    use std::sync::Arc;
    use std::time::Duration;

    pub struct Quiet;

    impl Observer for Quiet {
        fn exported(&self, _: &str, _: &Message) {}
        fn failed(&self, _: &ActorFailure) {}
    }

    /// `numbers` (reflow/Range, one integer per millisecond, practically endless) -> `sink`.
    pub fn network() -> Network {
        let json = r#"{"properties": {"name": "paced"}, "processes": {
            "numbers": {"component": "reflow/Range", "metadata": {"config": {"start": 1, "end": 1000000000, "interval_ms": 1}}},
            "sink": {"component": "core/Drop"}},
            "connections": [{"src": {"process": "numbers", "port": "out"}, "tgt": {"process": "sink", "port": "in"}}]}"#;
        network_of(json)
    }

    /// A network of `json`, a graph file in a fresh folder (plugin paths absolute).
    pub fn network_of(json: &str) -> Network {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("graph.json");
        std::fs::write(&file, json).unwrap();
        let graph: Graph = reflow_network::load_graph(&file).unwrap();
        Network::from_graph(&file, graph, Default::default()).unwrap()
    }

    /// A plugin built by `cargo xtask build-plugins`.
    pub fn plugin(name: &str) -> std::path::PathBuf {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/plugins").join(name);
        assert!(path.is_file(), "{} is missing: run `cargo xtask build-plugins` first", path.display());
        path.canonicalize().unwrap()
    }

    /// The next event of `kind`, skipping others (a hang guard in `Events` ends a stuck read).
    pub fn next_of(events: &mut Events, kind: &str) -> serde_json::Value {
        loop {
            match events.next() {
                Some((k, event)) if k == kind => return event,
                Some(_) => {}
                None => panic!("the stream ended before a {kind} event"),
            }
        }
    }

    pub fn inspector(network: &Network) -> Inspector {
        Inspector::start("127.0.0.1:0", Allowlist::default(), network, Arc::new(Quiet)).unwrap()
    }

    /// `(address, token)` of an inspector's URL.
    pub fn parts(url: &str) -> (String, String) {
        let rest = url.strip_prefix("http://").unwrap();
        let (addr, token) = rest.split_once("/?token=").unwrap();
        (addr.to_string(), token.to_string())
    }

    /// Sends a request head (`extra` are more header lines) and returns the connection.
    pub fn send(addr: &str, method: &str, target: &str, host: &str, extra: &[&str]) -> TcpStream {
        let mut stream = TcpStream::connect(addr).unwrap();
        // A hang guard: every answer here comes at once.
        stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let mut head = format!("{method} {target} HTTP/1.1\r\nHost: {host}\r\n");
        for line in extra {
            head.push_str(line);
            head.push_str("\r\n");
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes()).unwrap();
        stream
    }

    /// The status code and whole body of a request.
    pub fn request(addr: &str, method: &str, target: &str, host: &str, extra: &[&str]) -> (u16, String) {
        let mut stream = send(addr, method, target, host, extra);
        let mut text = String::new();
        stream.read_to_string(&mut text).unwrap();
        let code = text.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or_else(|| panic!("not a response: {text:?}"));
        (code, text)
    }

    /// Server-sent events as `(kind, JSON)`, read one at a time.
    pub struct Events(BufReader<TcpStream>);

    impl Events {
        pub fn open(addr: &str, token: &str) -> Events {
            Events::open_at(addr, &format!("/events?token={token}"))
        }

        /// The event stream at `target` (a path with its query).
        pub fn open_at(addr: &str, target: &str) -> Events {
            let stream = send(addr, "GET", target, addr, &[]);
            let mut reader = BufReader::new(stream);
            let mut status = String::new();
            reader.read_line(&mut status).unwrap();
            assert!(status.starts_with("HTTP/1.1 200"), "{status}");
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                if line == "\r\n" {
                    break;
                }
            }
            Events(reader)
        }

        /// The next event; `None` once the stream ended.
        pub fn next(&mut self) -> Option<(String, serde_json::Value)> {
            let (mut kind, mut data) = (None, None);
            loop {
                let mut line = String::new();
                if self.0.read_line(&mut line).unwrap_or(0) == 0 {
                    return None;
                }
                let line = line.trim_end();
                if let Some(k) = line.strip_prefix("event: ") {
                    kind = Some(k.to_string());
                } else if let Some(d) = line.strip_prefix("data: ") {
                    data = Some(serde_json::from_str(d).unwrap());
                } else if line.is_empty() {
                    if let (Some(kind), Some(data)) = (kind.take(), data.take()) {
                        return Some((kind, data));
                    }
                }
            }
        }
    }
}
