//! An edge between workers keeps its order, stores a batch sent again once, bounds what it
//! holds, and holds a sender back while its receiver is behind.

use crate::{client, within};
use reflow_cluster::edge::{Connection, EdgeOptions, EdgeReceiver, EdgeSender, Position};
use reflow_test_nats::NatsServer;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

fn message(n: u64) -> Vec<u8> {
    format!("{{\"type\":\"Integer\",\"data\":{n}}}").into_bytes()
}

fn connection(number: usize) -> Connection {
    Connection { graph: "g".into(), run: "r1".into(), number }
}

/// Takes batches until `count` messages came: the messages, each batch's first index.
async fn receive(receiver: &mut EdgeReceiver, count: usize) -> (Vec<Vec<u8>>, Vec<u64>) {
    let (mut messages, mut firsts, mut sequences) = (Vec::new(), Vec::new(), Vec::new());
    while messages.len() < count {
        let batch = within("the next batch", receiver.next()).await.unwrap();
        sequences.push(batch.sequence);
        firsts.push(batch.first);
        messages.extend(batch.messages().map(<[u8]>::to_vec));
        batch.ack().await.unwrap();
    }
    assert!(sequences.windows(2).all(|w| w[0] < w[1]), "stream order: {sequences:?}");
    (messages, firsts)
}

#[tokio::test]
async fn messages_arrive_once_in_order_in_batches() {
    let server = NatsServer::start();
    let js = async_nats::jetstream::new(client(&server.url()).await);
    let options = EdgeOptions { batch: 100, window: 4, ..EdgeOptions::default() };
    let mut receiver = EdgeReceiver::open(&js, &connection(3), Position::default(), options).await.unwrap();
    let mut sender = EdgeSender::new(js.clone(), connection(3), 0, options);
    for n in 0..2_550 {
        sender.send(&message(n)).await.unwrap();
    }
    sender.finish().await.unwrap();
    assert_eq!(sender.next_index(), 2_550);
    let (messages, firsts) = receive(&mut receiver, 2_550).await;
    assert_eq!(messages, (0..2_550).map(message).collect::<Vec<_>>());
    // 25 full batches and a last one of 50, each saying where it starts.
    assert_eq!(firsts, (0..26).map(|b| b * 100).collect::<Vec<_>>());
    let end = within("the end", receiver.next()).await.unwrap();
    assert_eq!(end.end, Some(2_550));
}

#[tokio::test]
async fn a_sender_resumed_from_a_checkpoint_stores_what_it_sends_again_once() {
    let server = NatsServer::start();
    let js = async_nats::jetstream::new(client(&server.url()).await);
    let options = EdgeOptions { batch: 10, window: 2, ..EdgeOptions::default() };
    let mut receiver = EdgeReceiver::open(&js, &connection(0), Position::default(), options).await.unwrap();
    let mut first = EdgeSender::new(js.clone(), connection(0), 0, options);
    for n in 0..30 {
        first.send(&message(n)).await.unwrap();
    }
    first.flush().await.unwrap();
    // The sender's actor is restored from a checkpoint taken at message 10 and produces the
    // same messages again, then new ones: the same batches, dropped by their ids.
    let mut resumed = EdgeSender::new(js.clone(), connection(0), 10, options);
    for n in 10..40 {
        resumed.send(&message(n)).await.unwrap();
    }
    resumed.flush().await.unwrap();
    let (messages, firsts) = receive(&mut receiver, 40).await;
    assert_eq!(messages, (0..40).map(message).collect::<Vec<_>>());
    assert_eq!(firsts, [0, 10, 20, 30]);
}

#[tokio::test]
async fn a_receiver_opened_at_a_checkpointed_position_reads_from_there() {
    let server = NatsServer::start();
    let js = async_nats::jetstream::new(client(&server.url()).await);
    let options = EdgeOptions { batch: 10, ..EdgeOptions::default() };
    let mut sender = EdgeSender::new(js.clone(), connection(1), 0, options);
    for n in 0..50 {
        sender.send(&message(n)).await.unwrap();
    }
    sender.flush().await.unwrap();
    let mut receiver = EdgeReceiver::open(&js, &connection(1), Position::default(), options).await.unwrap();
    let third = {
        receive(&mut receiver, 20).await;
        within("the third batch", receiver.next()).await.unwrap()
    };
    assert_eq!(third.first, 20);
    let at = Position { next: 25, sequence: third.sequence };
    drop(third);
    // Another worker resumes the receiving actor: it reads from the batch holding message 25.
    let mut resumed = EdgeReceiver::open(&js, &connection(1), at, options).await.unwrap();
    let (messages, firsts) = receive(&mut resumed, 30).await;
    assert_eq!(firsts, [20, 30, 40]);
    assert_eq!(messages, (20..50).map(message).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_full_edge_stream_fails_the_sender_with_a_reason() {
    let server = NatsServer::start();
    let js = async_nats::jetstream::new(client(&server.url()).await);
    // Room for a few batches only, nobody consuming, and no lag bound in the way.
    let options = EdgeOptions { batch: 100, window: 1, max_lag: u64::MAX, max_bytes: 8 * 1024 };
    reflow_cluster::edge::ensure_stream(&js, "g", options).await.unwrap();
    let mut sender = EdgeSender::new(js, connection(0), 0, options);
    let mut error = None;
    for n in 0..10_000 {
        if let Err(e) = sender.send(&message(n)).await {
            error = Some(e);
            break;
        }
    }
    let error = error.expect("the sender filled a bounded stream without an error");
    assert!(error.to_string().contains("store a batch of reflow.edge."), "{error}");
}

#[tokio::test]
async fn a_sender_waits_while_its_receiver_is_behind() {
    let server = NatsServer::start();
    let js = async_nats::jetstream::new(client(&server.url()).await);
    let options = EdgeOptions { batch: 1, window: 1, max_lag: 8, ..EdgeOptions::default() };
    let taken = Arc::new(AtomicU64::new(0));
    let taken_when_done = {
        let (js, taken) = (js.clone(), taken.clone());
        tokio::spawn(async move {
            let mut sender = EdgeSender::new(js, connection(2), 0, options);
            for n in 0..100 {
                sender.send(&message(n)).await.unwrap();
            }
            sender.flush().await.unwrap();
            taken.load(Ordering::SeqCst)
        })
    };
    let mut receiver = EdgeReceiver::open(&js, &connection(2), Position::default(), options).await.unwrap();
    for _ in 0..100 {
        let batch = within("the next batch", receiver.next()).await.unwrap();
        batch.ack().await.unwrap();
        taken.fetch_add(1, Ordering::SeqCst);
    }
    // The sender could only store its last batch once the receiver was at most the lag
    // bound (plus one check's worth and the window) behind.
    let at_end = taken_when_done.await.unwrap();
    assert!(at_end >= 100 - 8 - 2 - 2, "the sender ran {} batches ahead of its receiver", 100 - at_end);
}
