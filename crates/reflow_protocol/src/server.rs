//! The transport: a WebSocket listener (tokio-tungstenite) accepting the `noflo`
//! subprotocol. Each connection has a reader, which hands every text frame to
//! [`Runtime::handle`] on a blocking thread (a `component:list` compiles plugins; a `start`
//! instantiates them), one message at a time and in order, and a writer fed by the
//! connection's channel, which also carries the network events of the [`Hub`](crate::Hub).
//!
//! Before any of that, the handshake is checked against the [`Allowlist`] (`Origin`, `Host`),
//! and tungstenite refuses frames and messages over [`ServeConfig::max_message_bytes`] while
//! reading them, before anything is parsed (the connection is then closed with 1009).

use crate::access::Allowlist;
use crate::error::ProtocolError;
use crate::messages::Reply;
use crate::runtime::{Runtime, RuntimeConfig};
use futures_util::{SinkExt, StreamExt};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::{HeaderValue, StatusCode};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
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
    /// Origins and host names let in beyond the loopback ones.
    pub allow: Allowlist,
    /// The largest message (and frame) a client may send, in bytes.
    pub max_message_bytes: usize,
}

/// The default [`ServeConfig::max_message_bytes`]: far above any graph edit an editor sends
/// (an IIP is a message), far below what would strain the host.
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 1 << 20;

impl Default for ServeConfig {
    fn default() -> Self {
        ServeConfig {
            host: "127.0.0.1".into(),
            port: 3569,
            runtime: RuntimeConfig::default(),
            allow: Allowlist::default(),
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
        }
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
        let allow = Arc::new(config.allow);
        let mut websocket = WebSocketConfig::default();
        websocket.max_message_size = Some(config.max_message_bytes);
        websocket.max_frame_size = Some(config.max_message_bytes);
        loop {
            match listener.accept().await {
                Ok((stream, peer)) => {
                    tokio::spawn(connection(runtime.clone(), allow.clone(), websocket, stream, peer));
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

/// Refuses a handshake whose `Origin` or `Host` the allowlist does not accept (403), then
/// picks `noflo` when the client offers it; a client offering no subprotocol is served too.
#[allow(clippy::result_large_err)]
fn handshake(allow: &Allowlist, request: &Request, mut response: Response) -> Result<Response, ErrorResponse> {
    let header = |name: &str| request.headers().get(name).map(|v| v.to_str().unwrap_or("(not text)"));
    if let Err(reason) = allow.check(header("Origin"), header("Host")) {
        tracing::warn!("refused a WebSocket connection: {reason}");
        let mut refusal = ErrorResponse::new(Some(format!("{reason}\n")));
        *refusal.status_mut() = StatusCode::FORBIDDEN;
        return Err(refusal);
    }
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

async fn connection(runtime: Arc<Runtime>, allow: Arc<Allowlist>, websocket: WebSocketConfig, stream: TcpStream, peer: SocketAddr) {
    let callback = |request: &Request, response: Response| handshake(&allow, request, response);
    let socket = match tokio_tungstenite::accept_hdr_async_with_config(stream, callback, Some(websocket)).await {
        Ok(socket) => socket,
        Err(e) => {
            tracing::debug!("{peer}: WebSocket handshake failed: {e}");
            return;
        }
    };
    tracing::debug!("{peer}: connected");
    let (mut sink, mut source) = socket.split();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    // Not yet in the hub: network events only once a message carried the secret.
    let client = runtime.hub().connect(tx);
    let backlog = client.backlog();
    let writer = tokio::spawn(async move {
        while let Some(text) = rx.recv().await {
            backlog.written();
            if sink.send(Frame::text(text)).await.is_err() {
                break;
            }
        }
        sink
    });
    // Why the server ends the connection, if it does.
    let mut close = None;
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
            Err(tokio_tungstenite::tungstenite::Error::Capacity(e)) => {
                tracing::warn!("{peer}: {e}; connection closed");
                close = Some(CloseFrame { code: CloseCode::Size, reason: "message too big".into() });
                break;
            }
            Err(e) => {
                tracing::debug!("{peer}: {e}");
                break;
            }
        }
    }
    runtime.hub().leave(&client);
    drop(client);
    if let Ok(mut sink) = writer.await {
        if close.is_some() {
            let _ = sink.send(Frame::Close(close)).await;
        }
        let _ = sink.close().await;
    }
    tracing::debug!("{peer}: disconnected");
}
