//! What only the JetStream KV backend does: reach a server (or say why not), keep records
//! across a server restart, refuse a bucket that is not ours.

use reflow_state::{ActorKey, ActorRecord, NatsStore, StateError, StateStore, StoreOptions};
use reflow_test_nats::NatsServer;
use serde_json::json;
use std::sync::mpsc;
use std::time::Duration;

/// How long a test waits for an open that should fail within seconds before calling it hung.
const HANG_GUARD: Duration = Duration::from_secs(120);

fn record(n: i64) -> ActorRecord {
    ActorRecord { state: json!({"n": n}).as_object().unwrap().clone() }
}

#[test]
fn an_unreachable_server_is_an_open_error_naming_it() {
    // A port nothing listens on: bound, read, released.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("nats://127.0.0.1:{port}");
    // A hang guard, not a timing claim: the connect timeout is 5 s, so a result that has not
    // come in two minutes means the open hangs, and the test fails saying so instead of
    // blocking the suite.
    let (sent, result) = mpsc::channel();
    let opening = url.clone();
    std::thread::spawn(move || {
        let _ = sent.send(NatsStore::connect(&opening, "state", StoreOptions::default()).map(drop));
    });
    let error = match result.recv_timeout(HANG_GUARD) {
        Ok(result) => result.unwrap_err(),
        Err(_) => panic!("opening {url} gave no result within the {HANG_GUARD:?} hang guard"),
    };
    assert!(matches!(error, StateError::Open { .. }), "{error:?}");
    let message = error.to_string();
    assert!(message.contains(&url) && message.contains("cannot connect to NATS"), "{message}");
}

#[test]
fn records_survive_a_server_restart_and_a_new_connection() {
    let mut server = NatsServer::start();
    let key = ActorKey::new("g", "a");
    {
        let store = NatsStore::connect(&server.url(), "state", StoreOptions::default()).unwrap();
        store.commit(&key, &record(41)).unwrap();
        store.commit(&key, &record(42)).unwrap();
    }
    server.restart();
    let store = NatsStore::connect(&server.url(), "state", StoreOptions::default()).unwrap();
    assert_eq!(store.load(&key).unwrap(), Some(record(42)));
}

#[test]
fn a_bucket_that_is_not_a_state_store_is_refused_and_left_alone() {
    let server = NatsServer::start();
    let url = server.url();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let client = async_nats::connect(&url).await.unwrap();
        let js = async_nats::jetstream::new(client);
        let kv = js
            .create_key_value(async_nats::jetstream::kv::Config { bucket: "other".into(), ..Default::default() })
            .await
            .unwrap();
        kv.put("config", "someone else's".into()).await.unwrap();
    });
    let error = NatsStore::connect(&url, "other", StoreOptions::default()).unwrap_err();
    assert!(matches!(error, StateError::Corrupt { .. }), "{error:?}");
    assert!(error.to_string().contains("no reflow.format marker"), "{error}");
    let value = runtime.block_on(async {
        let client = async_nats::connect(&url).await.unwrap();
        let kv = async_nats::jetstream::new(client).get_key_value("other").await.unwrap();
        kv.get("config").await.unwrap()
    });
    assert_eq!(value.as_deref(), Some(b"someone else's".as_slice()));
}

#[test]
fn a_value_not_written_by_reflow_is_a_bad_record() {
    let server = NatsServer::start();
    let store = NatsStore::connect(&server.url(), "state", StoreOptions::default()).unwrap();
    let key = ActorKey::new("g", "a");
    store.commit(&key, &record(1)).unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let client = async_nats::connect(server.url()).await.unwrap();
        let kv = async_nats::jetstream::new(client).get_key_value("state").await.unwrap();
        // The key of ("g", "a"): hex of each name.
        kv.put("a.g67.p61", "{\"n\": 1}".into()).await.unwrap();
    });
    let error = store.load(&key).unwrap_err();
    assert!(matches!(error, StateError::BadRecord { .. }), "{error:?}");
    assert!(error.to_string().contains("process \"a\""), "{error}");
}
