//! Why the server cannot serve. Errors in what a client sends are not Rust errors: they are
//! answered with the protocol's `error` messages and the server goes on.

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProtocolError {
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: String, source: std::io::Error },

    #[error("cannot start the server's async runtime: {0}")]
    Runtime(std::io::Error),

    #[error("components directory {dir}: {reason}")]
    Components { dir: String, reason: String },
}
