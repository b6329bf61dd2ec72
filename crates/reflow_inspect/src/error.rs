//! Why the inspector cannot start.

/// The inspector's errors: only starting can fail; a bad request is answered, never an error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InspectError {
    #[error("the inspector cannot listen on {addr}: {source}")]
    Bind { addr: String, source: std::io::Error },
    #[error("the inspector cannot make a token: {0}")]
    Token(String),
    #[error("the inspector cannot start a thread: {0}")]
    Thread(std::io::Error),
}
