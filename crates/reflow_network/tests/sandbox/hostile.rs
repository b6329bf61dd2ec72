use super::*;
use reflow_network::{load_graph, NetworkError};
use serde_json::json;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};

const DOUBLED: [i64; 6] = [2, 4, 6, 8, 10, 12];

/// The healthy actor got every number and nothing else failed.
fn healthy_finished(run: &Run) {
    assert_eq!(run.integers("doubled"), DOUBLED, "every healthy message is delivered");
    let healthy = run.stats("healthy");
    assert_eq!((healthy.calls, healthy.errors), (6, 0));
}

/// The hostile actor failed once on 3, was restarted, and counted on from its state before.
fn failed_once_on_three(run: &Run, limit: &str) {
    healthy_finished(run);
    assert_eq!(run.integers("survived"), [1, 2, 4, 5, 6]);
    assert_eq!(run.integers("count"), [1, 2, 3, 4, 5], "the restart kept the state from before the failed call");
    assert_eq!(run.failures(), [format!("actor hostile: exceeded {limit}")]);
    let dead = run.dead_letters();
    assert_eq!(dead, [format!("actor hostile: exceeded {limit}: {{\"in\":{{\"type\":\"Integer\",\"data\":3}}}}")]);
    assert_eq!(run.report.dead_letters.len(), 1);
    let hostile = run.stats("hostile");
    assert_eq!((hostile.calls, hostile.errors, hostile.dead_letters, hostile.stopped), (6, 1, 1, false));
}

#[test]
fn an_infinite_loop_times_out_and_the_graph_finishes() {
    failed_once_on_three(&run("infinite_loop"), "the 300 ms call time limit");
}

#[test]
fn an_infinite_loop_runs_out_of_fuel_and_the_graph_finishes() {
    failed_once_on_three(&run("infinite_loop_fuel"), "the fuel limit of 50000000 units");
}

#[test]
fn a_memory_bomb_hits_its_page_limit_and_the_graph_finishes() {
    failed_once_on_three(&run("memory_bomb"), "the 512-page (32 MiB) memory limit");
}

#[test]
fn a_panic_fails_one_call_and_the_actor_goes_on() {
    let run = run("panic");
    healthy_finished(&run);
    assert_eq!(run.integers("survived"), [1, 2, 3, 4, 5, 6]);
    let failures = run.failures();
    assert_eq!(failures.len(), 1);
    assert!(failures[0].starts_with("actor hostile: wasm trap"), "{failures:?}");
    assert!(run.dead_letters()[0].ends_with("{\"panic\":{\"type\":\"Boolean\",\"data\":true}}"), "{:?}", run.dead_letters());
}

#[test]
fn garbage_results_become_dead_letters() {
    let run = run("garbage");
    healthy_finished(&run);
    assert!(run.port("survived").is_empty());
    assert_eq!(run.failures().len(), 6);
    assert!(run.failures().iter().all(|f| f.starts_with("actor hostile: invalid ActorResult: ")), "{:?}", run.failures());
    assert_eq!(run.report.dead_letters.len(), 6);
    let payloads: Vec<_> = run.report.dead_letters.iter().map(|d| d.payload["in"].clone()).collect();
    assert_eq!(payloads, (1..=6).map(Message::Integer).collect::<Vec<_>>(), "none lost, in order");
}

#[test]
fn a_connected_error_port_receives_the_failed_messages_instead() {
    let run = run("garbage_error_port");
    assert_eq!(run.integers("doubled"), DOUBLED);
    let errors = run.port("errors");
    assert_eq!(errors.len(), 6);
    let Message::Object(first) = &errors[0] else { panic!("{errors:?}") };
    assert_eq!(first["actor"], "hostile");
    assert_eq!(first["payload"], json!({"in": {"type": "Integer", "data": 1}}));
    assert!(first["error"].as_str().unwrap().starts_with("invalid ActorResult"), "{first}");
    assert!(run.report.dead_letters.is_empty());
}

#[test]
fn a_stop_policy_stops_the_actor_after_its_restarts() {
    let run = run("garbage_stop");
    healthy_finished(&run);
    let hostile = run.stats("hostile");
    assert_eq!((hostile.received, hostile.calls, hostile.errors, hostile.dead_letters), (6, 3, 3, 6));
    assert!(hostile.stopped);
    assert!(run.dead_letters()[5].starts_with("actor hostile: stopped after 3 failed call(s): "), "{:?}", run.dead_letters());
    assert_eq!(run.report.graph_failed, None);
}

#[test]
fn a_fail_policy_fails_the_graph() {
    let run = run("garbage_fail");
    assert_eq!(
        run.report.graph_failed.as_deref(),
        Some("actor hostile: stopped after 1 failed call(s); its failure policy stops the graph")
    );
    assert_eq!(run.stats("hostile").calls, 1);
    assert_eq!(run.stats("healthy").errors, 0);
}

#[test]
fn undeclared_ports_are_dropped_counted_and_not_fatal() {
    let run = run("undeclared_port");
    healthy_finished(&run);
    assert_eq!(run.integers("survived"), [1, 2, 3, 4, 5, 6]);
    assert!(run.failures().is_empty());
    assert_eq!(run.stats("hostile").dropped, 12, "`status` sent and `count` returned, 6 times each");
}

#[test]
fn gigantic_outputs_are_capped() {
    let run = run("flood");
    assert_eq!(run.integers("doubled"), [2000, 4000, 6000, 8000, 10000, 12000]);
    let sizes: Vec<usize> = run.port("survived").iter().map(|m| m.to_json()["data"].as_str().unwrap().len()).collect();
    assert_eq!(sizes, [1000, 2000, 3000, 4000]);
    assert_eq!(run.failures(), ["actor hostile: exceeded the 4096-byte output limit"; 2]);
}

#[test]
fn a_file_is_read_only_by_the_process_granted_its_directory() {
    let run = run("read_file");
    assert_eq!(run.integers("doubled"), [2, 4, 6]);
    assert!(run.port("denied_text").is_empty());
    assert_eq!(run.port("granted_text"), vec![Message::String("hello from the host\n".into()); 3]);
    let failures = run.failures();
    assert_eq!(failures.len(), 3);
    assert!(failures.iter().all(|f| f.starts_with("actor denied: cannot read /data/greeting.txt")), "{failures:?}");
}

#[test]
fn http_reaches_only_the_granted_host() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://127.0.0.1:{}/", listener.local_addr().unwrap().port());
    let seen = Arc::new(AtomicUsize::new(0));
    let counter = seen.clone();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 0) && line != "\r\n" {
                line.clear();
            }
            counter.fetch_add(1, Ordering::SeqCst);
            let _ = write!(stream, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
        }
    });
    let file = graph_path("http_get");
    let mut graph = load_graph(&file).unwrap();
    for process in ["denied", "granted"] {
        graph.process_mut(process).unwrap().config.insert("url".into(), json!(url));
    }
    let network = Network::from_graph(file.parent().unwrap(), graph, Limits::default()).unwrap();
    let run = run_network(&network);
    assert_eq!(run.integers("doubled"), [2, 4, 6]);
    assert_eq!(run.port("granted_body"), vec![Message::String("ok".into()); 3]);
    assert!(run.port("denied_body").is_empty());
    assert_eq!(run.failures().len(), 3);
    assert!(run.failures().iter().all(|f| f.contains(&format!("HTTP request to {url} is not allowed"))), "{:?}", run.failures());
    assert_eq!(seen.load(Ordering::SeqCst), 3, "only the granted requests reached the server");
}

#[test]
fn two_instances_of_one_plugin_keep_separate_state() {
    let run = run("isolation");
    assert_eq!(run.integers("a_count"), [1, 2, 3]);
    assert_eq!(run.integers("b_count"), [1, 2, 3, 4, 5]);
}

#[test]
fn a_plugin_that_cannot_load_fails_the_graph_before_it_starts() {
    let err = Network::load(&graph_path("unloadable"), Limits::default()).err().unwrap();
    assert!(matches!(err, NetworkError::Invalid(_)), "{err}");
    assert!(err.to_string().contains("missing export `process`"), "{err}");
}

#[test]
fn bad_sandbox_settings_stop_the_graph_before_it_starts_naming_each_process() {
    let err = Network::load(&graph_path("bad_settings"), Limits::default()).err().unwrap();
    let lines: Vec<String> = err.to_string().lines().map(String::from).collect();
    assert_eq!(lines.len(), 2, "{err}");
    assert!(lines[0].contains("process \"a\": unknown key metadata.sandbox.timeout"), "{err}");
    assert!(lines[1].contains("process \"b\": metadata.on_failure.then must be \"stop\" or \"fail\""), "{err}");
}
