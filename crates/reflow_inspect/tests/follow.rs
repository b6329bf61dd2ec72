//! `reflow serve`'s inspector: one server for every run an editor starts. A page opened before
//! any run waits for the first; a page whose run ended asks for the next one (`after`) and
//! gets it once it starts; who gets in is checked as for a single run.

use super::support::{network, next_of, parts, request, Events, Quiet};
use reflow_inspect::{Allowlist, Server};
use reflow_network::RunOptions;
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// Runs `network` watched by `server` until a page of `events` has seen its count grow, then
/// stops it; returns the run's number as the page was told it.
fn watched_run(server: &Server, events: &mut Events) -> u64 {
    let network = network();
    let mut watch = server.watch(&network, Arc::new(Quiet)).unwrap();
    let options = RunOptions { probe: Some(watch.probe()), observe_edges: true, ..RunOptions::default() };
    let stop = options.stop.clone();
    let observer = watch.observer();
    let run = std::thread::spawn(move || network.run(&options, observer).unwrap());
    let hello = next_of(events, "hello");
    assert_eq!(hello["follow"], true, "{hello}");
    assert_eq!(hello["graph"]["processes"][0]["name"], "numbers");
    let number = hello["run"].as_u64().unwrap();
    while next_of(events, "tick")["edges"][0][0].as_u64().unwrap() == 0 {}
    stop.store(true, Ordering::SeqCst);
    let report = run.join().unwrap();
    watch.finish(Ok(&report));
    let end = next_of(events, "end");
    assert_eq!(end["table"][0]["sent"], report.actors[0].sent);
    assert!(events.next().is_none(), "the stream of a run ends with it");
    number
}

#[test]
fn pages_follow_the_runs_of_one_server_from_one_to_the_next() {
    let server = Server::start("127.0.0.1:0", Allowlist::default(), true).unwrap();
    let (addr, token) = parts(&server.url());
    // Before any run: the page is served, its stream waits.
    let (code, page) = request(&addr, "GET", &format!("/?token={token}"), &addr, &[]);
    assert_eq!(code, 200, "{page}");
    let mut first = Events::open(&addr, &token);
    let one = watched_run(&server, &mut first);

    // Asking for the run after the one it saw: it waits for the next start, and gets that run.
    let mut next = Events::open_at(&addr, &format!("/events?token={token}&after={one}"));
    let two = watched_run(&server, &mut next);
    assert!(two > one, "runs are numbered in order: {one} then {two}");

    // A page opened now sees the last run, ended (its graph, counts and end).
    let mut late = Events::open(&addr, &token);
    let hello = next_of(&mut late, "hello");
    assert_eq!(hello["run"], two);
    next_of(&mut late, "end");

    for (what, target, extra) in [
        ("no token", "/events?after=0".to_string(), vec![]),
        ("another site's page", format!("/events?token={token}&after={two}"), vec!["Origin: http://evil.example"]),
    ] {
        let (code, text) = request(&addr, "GET", &target, &addr, &extra);
        assert_eq!(code, 403, "{what}: {text}");
    }
    let (code, text) = request(&addr, "GET", &format!("/events?token={token}&after=two"), &addr, &[]);
    assert_eq!(code, 400, "`after` must be a number: {text}");
}
