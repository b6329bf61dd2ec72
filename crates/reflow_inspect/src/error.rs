//! Why the inspector cannot start.

/// The inspector's errors: only starting can fail; a bad request is answered, never an error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InspectError {
    /// The address cannot be listened on (in use, not ours, malformed).
    #[error("the inspector cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: String,
        /// Why the operating system refused it.
        source: std::io::Error,
    },
    /// No random source for the access token, which the inspector will not start without.
    #[error("the inspector cannot make a token: {0}")]
    Token(String),
    /// The thread that accepts connections cannot be started.
    #[error("the inspector cannot start a thread: {0}")]
    Thread(std::io::Error),
}
