//! Two workers never hold one lease; a dead worker's lease passes to another once it lapses;
//! a worker cut off from NATS that comes back is fenced and never runs the moved actor.

use crate::proxy::Proxy;
use crate::{client, within};
use reflow_cluster::lease::Leases;
use reflow_cluster::ClusterError;
use reflow_test_nats::NatsServer;
use std::time::Duration;

const TTL: Duration = Duration::from_secs(2);

#[tokio::test]
async fn one_lease_one_holder_and_release_frees_it() {
    let server = NatsServer::start();
    let a = Leases::open(&client(&server.url()).await, "a", TTL).await.unwrap();
    let b = Leases::open(&client(&server.url()).await, "b", TTL).await.unwrap();
    let mut lease = a.acquire("g", "stage1").await.unwrap().expect("a free lease is taken");
    assert!(lease.is_valid());
    assert!(b.acquire("g", "stage1").await.unwrap().is_none(), "b took a lease a holds");
    // Another process of the graph, and the same process of another graph, are other leases.
    assert!(b.acquire("g", "stage2").await.unwrap().is_some());
    assert!(b.acquire("h", "stage1").await.unwrap().is_some());
    let before = lease.revision();
    a.renew(&mut lease).await.unwrap();
    assert!(lease.revision() > before);
    assert_eq!(b.holder("g", "stage1").await.unwrap().unwrap().0.worker, "a");
    a.release(lease).await.unwrap();
    assert!(b.acquire("g", "stage1").await.unwrap().is_some(), "a released lease stays taken");
}

#[tokio::test]
async fn a_dead_workers_lease_is_taken_over_once_it_lapses() {
    let server = NatsServer::start();
    let dead = client(&server.url()).await;
    let a = Leases::open(&dead, "a", TTL).await.unwrap();
    let held = a.acquire("g", "counter").await.unwrap().unwrap();
    // The worker dies: no release, no renewal.
    drop(held);
    drop(a);
    drop(dead);
    let b = Leases::open(&client(&server.url()).await, "b", TTL).await.unwrap();
    assert!(b.acquire("g", "counter").await.unwrap().is_none(), "the lease is free before it lapsed");
    let lease = within("the takeover", b.take_over("g", "counter")).await.unwrap();
    assert!(lease.is_valid());
    assert_eq!(b.holder("g", "counter").await.unwrap().unwrap().0.worker, "b");
}

#[tokio::test]
async fn a_worker_back_from_a_partition_is_fenced() {
    let server = NatsServer::start();
    let proxy = Proxy::to(server.port());
    let a = Leases::open(&client(&proxy.url()).await, "a", TTL).await.unwrap();
    let b = Leases::open(&client(&server.url()).await, "b", TTL).await.unwrap();
    let mut lease = a.acquire("g", "stage3").await.unwrap().unwrap();

    proxy.cut();
    let taken = within("the takeover", b.take_over("g", "stage3")).await.unwrap();
    // By the time the server let b have it, a's own clock had already stopped the actor.
    assert!(!lease.is_valid(), "a still thinks it may run the actor b now holds");
    proxy.restore();

    let error = a.renew(&mut lease).await.unwrap_err();
    assert!(matches!(&error, ClusterError::Fenced { worker, process, .. } if worker == "a" && process == "stage3"), "{error}");
    assert!(!lease.is_valid());
    // Nor can a take it back while b holds it.
    assert!(within("a's reconnection", a.acquire("g", "stage3")).await.unwrap().is_none());
    assert_eq!(b.holder("g", "stage3").await.unwrap().unwrap(), (reflow_cluster::lease::Holder { worker: "b".into() }, taken.revision()));
}

#[tokio::test]
async fn a_renewal_on_a_revision_the_server_no_longer_has_is_fenced() {
    // The lease is still valid by a's clock, but the key moved on (an operator purged it and
    // b took it): the revision, not the clock, fences a.
    let server = NatsServer::start();
    let a = Leases::open(&client(&server.url()).await, "a", TTL).await.unwrap();
    let b_client = client(&server.url()).await;
    let b = Leases::open(&b_client, "b", TTL).await.unwrap();
    let mut lease = a.acquire("g", "sink").await.unwrap().unwrap();
    let kv = async_nats::jetstream::new(b_client).get_key_value(reflow_cluster::lease::BUCKET).await.unwrap();
    let mut keys = futures_util::TryStreamExt::try_collect::<Vec<String>>(kv.keys().await.unwrap()).await.unwrap();
    let key = keys.pop().unwrap();
    kv.purge(&key).await.unwrap();
    assert!(b.acquire("g", "sink").await.unwrap().is_some());
    assert!(lease.is_valid());
    let error = a.renew(&mut lease).await.unwrap_err();
    assert!(error.to_string().contains("lost its lease"), "{error}");
    assert!(!lease.is_valid(), "a fenced lease became valid again");
}

#[test]
fn a_part_store_writes_only_while_its_leases_are_valid_and_marks_a_finished_part_done() {
    use reflow_cluster::store::{Fence, PartStore};
    use reflow_state::{ActorKey, MemoryStore, StateStore, StoreOptions};
    use serde_json::json;
    use std::sync::Arc;
    use std::time::Instant;

    let inner: Arc<dyn StateStore> = Arc::new(MemoryStore::new(StoreOptions::default()));
    let fence = Fence::until(Instant::now() + Duration::from_secs(600));
    let store = PartStore::new(inner.clone(), "r1", fence.clone());
    let state = |n: i64| vec![("count".to_string(), json!({"count": n}).as_object().unwrap().clone())];
    store.checkpoint("g@w1", &state(1), Some(&json!({"format": 1}))).unwrap();
    assert!(store.unfinished_run("g@w1").unwrap().is_some());
    // The lease was lost: nothing more is written, whatever the run does next.
    fence.close();
    let error = store.checkpoint("g@w1", &state(2), None).unwrap_err();
    assert!(error.to_string().contains("fenced"), "{error}");
    assert_eq!(inner.load(&ActorKey::new("g@w1", "count")).unwrap().unwrap().state, *json!({"count": 1}).as_object().unwrap());

    // The worker that took it over ends the part: done, in the same write as its states.
    let taker = PartStore::new(inner.clone(), "r1", Fence::until(Instant::now() + Duration::from_secs(600)));
    assert!(!taker.is_done("g@w1").unwrap());
    taker.checkpoint("g@w1", &state(3), None).unwrap();
    assert!(taker.is_done("g@w1").unwrap(), "a finished part is marked done");
    assert_eq!(taker.unfinished_run("g@w1").unwrap(), None, "a done part has nothing to resume");
    // A later run of the graph starts its part afresh (on top of the states).
    let later = PartStore::new(inner, "r2", Fence::until(Instant::now() + Duration::from_secs(600)));
    assert!(!later.is_done("g@w1").unwrap());
    assert_eq!(later.unfinished_run("g@w1").unwrap(), None);
}
