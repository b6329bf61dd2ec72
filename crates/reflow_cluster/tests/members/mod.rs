//! Joining the cluster, the list of live workers, one name per worker, one version.

use crate::{client, within};
use reflow_cluster::members::{self, Member, WorkerInfo};
use reflow_cluster::{ClusterError, VERSION};
use reflow_test_nats::NatsServer;
use std::time::Duration;

const TTL: Duration = Duration::from_secs(2);

#[tokio::test]
async fn workers_join_are_listed_and_leave() {
    let server = NatsServer::start();
    let nats = client(&server.url()).await;
    assert!(members::live(&nats).await.unwrap().is_empty());
    let mut w1 = Member::join(&nats, "w1", TTL).await.unwrap();
    let w2 = Member::join(&nats, "w2", TTL).await.unwrap();
    w1.heartbeat().await.unwrap();
    assert_eq!(members::live_same_version(&nats).await.unwrap(), ["w1", "w2"]);
    let error = Member::join(&nats, "w1", TTL).await.err().unwrap();
    assert!(error.to_string().contains("a live worker already has this name"), "{error}");
    w2.leave().await.unwrap();
    assert_eq!(members::live_same_version(&nats).await.unwrap(), ["w1"]);
}

#[tokio::test]
async fn a_worker_of_another_version_is_named() {
    let server = NatsServer::start();
    let nats = client(&server.url()).await;
    let _ours = Member::join(&nats, "w1", TTL).await.unwrap();
    let _old = Member::join_as(&nats, WorkerInfo { name: "old".into(), version: "0.0.1".into() }, TTL).await.unwrap();
    let error = members::live_same_version(&nats).await.unwrap_err();
    assert!(matches!(&error, ClusterError::Version { worker, .. } if worker == "old"), "{error}");
    assert_eq!(error.to_string(), format!("worker \"old\" runs reflow 0.0.1, this is {VERSION}: a cluster runs one version"));
}

#[tokio::test]
async fn an_unreachable_server_is_a_clear_error_not_a_hang() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("nats://127.0.0.1:{port}");
    let error = within("connecting", reflow_cluster::connect(&url)).await.unwrap_err();
    assert_eq!(error.to_string().split(": cannot connect").next().unwrap(), url);
}

#[tokio::test]
async fn status_names_workers_actors_and_edge_backlogs() {
    let server = NatsServer::start();
    let nats = client(&server.url()).await;
    let _w1 = Member::join(&nats, "w1", TTL).await.unwrap();
    let leases = reflow_cluster::lease::Leases::open(&nats, "w1", TTL).await.unwrap();
    let _lease = leases.acquire("my graph", "count").await.unwrap().unwrap();
    let js = async_nats::jetstream::new(nats.clone());
    let options = reflow_cluster::edge::EdgeOptions { batch: 2, window: 4, ..Default::default() };
    let connection = reflow_cluster::edge::Connection { graph: "my graph".into(), run: "r1".into(), number: 1 };
    let _receiver = reflow_cluster::edge::EdgeReceiver::open(&js, &connection, Default::default(), options).await.unwrap();
    let mut sender = reflow_cluster::edge::EdgeSender::new(js, connection, 0, options);
    for n in 0..6 {
        sender.send(format!("{n}").as_bytes()).await.unwrap();
    }
    sender.flush().await.unwrap();
    let status = reflow_cluster::status::status(&nats).await.unwrap();
    let text = status.to_string();
    assert!(text.contains(&format!("  w1 (reflow {VERSION})")), "{text}");
    assert!(text.contains("  my graph/count on w1"), "{text}");
    // Three batches of two, none taken yet (the receiver's pull may have taken one).
    let edge = &status.edges[0];
    assert_eq!((edge.graph.as_str(), edge.consumer.as_str()), ("my graph", "r1-1"));
    assert_eq!(edge.pending + edge.unacknowledged as u64, 3, "{text}");
}
