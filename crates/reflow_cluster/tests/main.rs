//! Integration tests of reflow_cluster against a real nats-server (`reflow_test_nats`): one
//! binary, one module per topic.

// A TCP proxy that can cut a client off from the server and let it back.
mod proxy;
// Leases: compare-and-set, takeover after a worker dies, fencing after a partition.
mod leases;
// Edges between workers: order, batches, bounds, resending.
mod edges;
// Graphs on several workers: the same answer as one process, clear errors.
mod run;
// Live workers: joining, names, versions, an unreachable server.
mod members;

/// A hang guard for waits on the server (lease expiry takes the bucket's `max_age`, seconds):
/// generous, and it fails the test with a reason rather than hanging the suite.
pub async fn within<T>(what: &str, future: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(std::time::Duration::from_secs(60), future)
        .await
        .unwrap_or_else(|_| panic!("{what} did not happen within 60 s (hang guard)"))
}

/// A client with a short reconnect delay, so a test does not wait out the default backoff.
pub async fn client(url: &str) -> async_nats::Client {
    async_nats::ConnectOptions::new()
        .reconnect_delay_callback(|_| std::time::Duration::from_millis(50))
        .connect(url)
        .await
        .unwrap()
}
