//! The transport: a WebSocket listener (tokio-tungstenite) accepting the `noflo`
//! subprotocol. Each connection has a reader, which hands every text frame to
//! [`Runtime::handle`] on a blocking thread (a `component:list` compiles plugins; a `start`
//! instantiates them), one message at a time and in order, and a writer fed by the
//! connection's channel, which also carries the network events of the [`Hub`](crate::Hub).

use crate::error::ProtocolError;
use crate::messages::Reply;
use crate::runtime::{Runtime, RuntimeConfig};
use futures_util::{SinkExt, StreamExt};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message as Frame;

/// The subprotocol FBP editors ask for.
pub const SUBPROTOCOL: &str = "noflo";

/// Where to listen and how the runtime behaves.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// Host name or address; loopback unless told otherwise (the protocol can run code).
    pub host: String,
    /// 0 picks a free port (the callback of [`serve`] gets the real one).
    pub port: u16,
    pub runtime: RuntimeConfig,
}

impl Default for ServeConfig {
    fn default() -> Self {
        ServeConfig { host: "127.0.0.1".into(), port: 3569, runtime: RuntimeConfig::default() }
    }
}

/// Listens, calls `listening` with the bound address once it accepts connections, then
/// serves clients until the process ends. Fails only if it cannot listen.
pub fn serve(config: ServeConfig, listening: impl FnOnce(SocketAddr)) -> Result<(), ProtocolError> {
    if let Some(dir) = &config.runtime.components {
        if !dir.is_dir() {
            return Err(ProtocolError::Components { dir: dir.display().to_string(), reason: "not a directory".into() });
        }
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(ProtocolError::Runtime)?;
    runtime.block_on(async move {
        let addr = if config.host.contains(':') && !config.host.starts_with('[') {
            format!("[{}]:{}", config.host, config.port)
        } else {
            format!("{}:{}", config.host, config.port)
        };
        let listener = TcpListener::bind(&addr).await.map_err(|source| ProtocolError::Bind { addr: addr.clone(), source })?;
        let local = listener.local_addr().map_err(|source| ProtocolError::Bind { addr, source })?;
        listening(local);
        let runtime = Arc::new(Runtime::new(config.runtime));
        loop {
            match listener.accept().await {
                Ok((stream, peer)) => {
                    tokio::spawn(connection(runtime.clone(), stream, peer));
                }
                // Out of file descriptors and the like: this client is lost, the next may not be.
                Err(e) => {
                    tracing::warn!("accepting a connection on {local}: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
            }
        }
    })
}

/// Picks `noflo` when the client offers it; a client offering no subprotocol is served too.
#[allow(clippy::result_large_err)]
fn choose_subprotocol(request: &Request, mut response: Response) -> Result<Response, tokio_tungstenite::tungstenite::handshake::server::ErrorResponse> {
    let offered = request
        .headers()
        .get_all("Sec-WebSocket-Protocol")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|p| p.trim() == SUBPROTOCOL);
    if offered {
        response.headers_mut().insert("Sec-WebSocket-Protocol", HeaderValue::from_static(SUBPROTOCOL));
    }
    Ok(response)
}

async fn connection(runtime: Arc<Runtime>, stream: TcpStream, peer: SocketAddr) {
    let socket = match tokio_tungstenite::accept_hdr_async(stream, choose_subprotocol).await {
        Ok(socket) => socket,
        Err(e) => {
            tracing::debug!("{peer}: WebSocket handshake failed: {e}");
            return;
        }
    };
    tracing::debug!("{peer}: connected");
    let (mut sink, mut source) = socket.split();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    let client = runtime.hub().join(tx);
    let backlog = client.backlog();
    let writer = tokio::spawn(async move {
        while let Some(text) = rx.recv().await {
            backlog.written();
            if sink.send(Frame::text(text)).await.is_err() {
                break;
            }
        }
        let _ = sink.close().await;
    });
    while let Some(frame) = source.next().await {
        match frame {
            Ok(Frame::Text(text)) => {
                let (runtime, client) = (runtime.clone(), client.clone());
                let text = text.to_string();
                if tokio::task::spawn_blocking(move || runtime.handle(&client, &text)).await.is_err() {
                    tracing::error!("{peer}: a message handler panicked");
                }
            }
            Ok(Frame::Binary(_)) => client.send(&Reply::error("runtime", "Malformed message: binary frames are not part of the protocol")),
            Ok(Frame::Close(_)) => break,
            Ok(_) => {} // ping and pong: tungstenite answers pings itself
            Err(e) => {
                tracing::debug!("{peer}: {e}");
                break;
            }
        }
    }
    runtime.hub().leave(&client);
    drop(client);
    let _ = writer.await;
    tracing::debug!("{peer}: disconnected");
}
