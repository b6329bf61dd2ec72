//! Hand-written hostile modules (wasm text, assembled in the test) against both engines:
//! each attack of issue 16 that a plugin can make, and what the host must do instead of
//! crashing, hanging or giving in. Every test names the backend(s) it runs on; a backend is
//! left out only where docs/security.md says why.

use crate::support::*;
use reflow_script::{Backend, Limits, ScriptError};
use std::collections::HashMap;
use std::time::Duration;

const BOTH: [Backend; 2] = [Backend::Wasmtime, Backend::Extism];

/// A generous bound that turns a hang into a failure (see `support::within`).
const HANG_GUARD: Duration = Duration::from_secs(60);

fn no_payload() -> HashMap<String, reflow_script::Message> {
    HashMap::new()
}

/// A fresh directory holding `greeting.txt`.
fn data_dir(test: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("reflow-hostile-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("greeting.txt"), "hello from the host").unwrap();
    dir
}

fn listing(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    names
}

/// WASI imports for the fixtures (preview 1 signatures).
const WASI: &str = r#"
  (import "wasi_snapshot_preview1" "path_open" (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_create_directory" (func $mkdir (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_remove_directory" (func $rmdir (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_unlink_file" (func $unlink (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_filestat_set_times" (func $path_times (param i32 i32 i32 i32 i64 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_rename" (func $rename (param i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_symlink" (func $symlink (param i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_filestat_set_size" (func $set_size (param i32 i64) (result i32)))
  (import "wasi_snapshot_preview1" "fd_filestat_set_times" (func $fd_times (param i32 i64 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll_oneoff (param i32 i32 i32 i32) (result i32)))
"#;

/// Finding 3: under `fs:ro:` nothing may change, whatever flags and rights a `path_open` asks
/// for (create+truncate with read rights emptied a file on the Extism backend) and whatever
/// the plugin does with a descriptor it opened for reading.
#[test]
fn a_read_only_grant_lets_nothing_change_under_it() {
    let wat = wat_plugin(
        &format!(
            r#"{WASI}
  (data (i32.const 1024) "greeting.txt")
  (data (i32.const 1040) "new.txt")
  (data (i32.const 1056) "newdir")
  (data (i32.const 1072) "moved.txt")
  (data (i32.const 1088) "overwritten")
  (data (i32.const 1104) "\40\04\00\00\0b\00\00\00")"#
        ),
        r#"
    ;; O_CREAT|O_TRUNC with read rights only, on the granted file and on a new one
    (drop (call $path_open (i32.const 3) (i32.const 0) (i32.const 1024) (i32.const 12) (i32.const 9) (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 1200)))
    (drop (call $path_open (i32.const 3) (i32.const 0) (i32.const 1040) (i32.const 7) (i32.const 1) (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 1200)))
    (drop (call $path_open (i32.const 3) (i32.const 0) (i32.const 1040) (i32.const 7) (i32.const 5) (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 1200)))
    ;; write rights with O_APPEND
    (drop (call $path_open (i32.const 3) (i32.const 0) (i32.const 1024) (i32.const 12) (i32.const 0) (i64.const 0x40) (i64.const 0) (i32.const 1) (i32.const 1200)))
    (drop (call $mkdir (i32.const 3) (i32.const 1056) (i32.const 6)))
    (drop (call $path_times (i32.const 3) (i32.const 0) (i32.const 1024) (i32.const 12) (i64.const 0) (i64.const 0) (i32.const 5)))
    (drop (call $rename (i32.const 3) (i32.const 1024) (i32.const 12) (i32.const 3) (i32.const 1072) (i32.const 9)))
    (drop (call $symlink (i32.const 1024) (i32.const 12) (i32.const 3) (i32.const 1072) (i32.const 9)))
    ;; opened for reading (allowed), then changed through the descriptor
    (if (i32.eqz (call $path_open (i32.const 3) (i32.const 0) (i32.const 1024) (i32.const 12) (i32.const 0)
          (i64.const 0xC00002) (i64.const 0) (i32.const 0) (i32.const 1200)))
      (then
        (drop (call $fd_write (i32.load (i32.const 1200)) (i32.const 1104) (i32.const 1) (i32.const 1208)))
        (drop (call $set_size (i32.load (i32.const 1200)) (i64.const 0)))
        (drop (call $fd_times (i32.load (i32.const 1200)) (i64.const 0) (i64.const 0) (i32.const 5)))))
    (drop (call $unlink (i32.const 3) (i32.const 1024) (i32.const 12)))
    (drop (call $rmdir (i32.const 3) (i32.const 1056) (i32.const 6)))
    (call $done)"#,
    );
    let dir = data_dir("ro");
    let mtime = || std::fs::metadata(dir.join("greeting.txt")).unwrap().modified().unwrap();
    let before = mtime();
    let grant = vec![format!("fs:ro:{}=/data", dir.display())];

    let module = load_wat(Backend::Wasmtime, &wat, &grant, Limits::default()).unwrap();
    let mut actor = hostile_actor(&module).unwrap();
    actor.process(&no_payload(), None).unwrap();
    assert_eq!(std::fs::read_to_string(dir.join("greeting.txt")).unwrap(), "hello from the host");
    assert_eq!(listing(&dir), ["greeting.txt"], "nothing was created, moved or removed");
    assert_eq!(mtime(), before, "no time was set");

    // Extism's read-only preopen lets create and truncate through: refused at load, naming why.
    let err = load_wat(Backend::Extism, &wat, &grant, Limits::default()).err().expect("refused on the Extism backend");
    assert!(err.to_string().contains("cannot keep a directory read-only"), "{err}");
    assert_eq!(std::fs::read_to_string(dir.join("greeting.txt")).unwrap(), "hello from the host");
}

/// Findings 4 and 8: a plugin forging the lengths and pointers of its memory blocks (with
/// `store_u64` into the block headers and the kernel's heap pointer) gets a clean error from
/// the host function that reads them, never a crash or a panic; the actor goes on, on a fresh
/// instance, with its state from before.
#[test]
fn forged_block_headers_are_clean_errors() {
    // (address written, value): a block's length (the u64 before it on our kernel; the u32
    // size and used fields on Extism's) far past memory, or past memory but within its limit;
    // the kernel's heap pointer past the memory, past 4 GiB, or below the heap.
    // The handle passed is the block's, or (last case) one past the memory but below the
    // forged heap pointer.
    let h = "(local.get $h)";
    let forgeries = [
        ("(i64.sub (local.get $h) (i64.const 8))", "0xFFFFFFF000000010", h),
        ("(i64.sub (local.get $h) (i64.const 8))", "0x00F0000000000010", h),
        ("(i64.sub (local.get $h) (i64.const 8))", "0x0000000000F00000", h),
        ("(i64.const 0)", "0x0000000000F00000", h),
        ("(i64.const 0)", "0xFFFFFFFFFFFFFFF0", h),
        ("(i64.const 0)", "0x0000000100000000", h),
        ("(i64.const 0)", "0x0000000000000008", h),
        ("(i64.const 0)", "0x0000000000F00000", "(i64.const 0x100000)"),
    ];
    for backend in BOTH {
        for (address, value, handle) in forgeries {
            let wat = wat_plugin(
                r#"(data (i32.const 1024) "count")"#,
                &format!(
                    r#"(local $h i64)
    (local.set $h (call $emit (i32.const 1024) (i32.const 5)))
    (call $store_u64 {address} (i64.const {value}))
    (call $set_state {handle} {handle})
    (drop (call $get_state {handle}))
    (call $send_output {handle})
    (call $done)"#
                ),
            );
            let module = load_wat(backend, &wat, &[], Limits::default()).unwrap();
            let mut actor = hostile_actor(&module).unwrap();
            let what = format!("{backend:?}: store_u64({address}, {value}), then handle {handle}");
            let err = within(HANG_GUARD, &what, move || {
                let err = actor.process(&no_payload(), None).expect_err("a forged header fails the call");
                (err, actor)
            });
            let (err, mut actor) = err;
            assert!(matches!(err, ScriptError::Call { .. } | ScriptError::LimitExceeded { .. }), "{what}: {err:?}");
            assert!(!err.to_string().contains('\n'), "{what}: one line: {err}");
            assert!(actor.state().is_empty(), "{what}: the failed call changed no state");
            // The next call runs on a fresh instance and fails the same way, cleanly.
            assert!(actor.process(&no_payload(), None).is_err(), "{what}");
        }
    }
}

/// Finding 4, the rest: could a plugin forge its allocator's root (Extism's kernel keeps it at
/// address 1; its `length` at 17, `position` at 9) so that the allocator places the next
/// call's input, larger than the kernel memory, past the memory's end, where the extism crate
/// writes it through an unchecked slice? No: Extism's kernel (built with bounds checks) ignores
/// `store_u8`/`store_u64` below the root's end, so the root keeps its values, and each call's
/// input goes where the allocator really has room. This test pins that, on both backends: the
/// plugin tries the forgery, sees it did not take (Extism), and then reads a 4 MiB input
/// whole, call after call. (Our own kernel checks every block against the memory's size.)
#[test]
fn a_plugin_cannot_forge_the_allocator_root_that_places_the_input() {
    let forge = |check: &str| {
        wat_plugin(
            r#"(import "extism:host/env" "input_length" (func $input_length (result i64)))
  (global $calls (mut i32) (i32.const 0))"#,
            &format!(
                r#"(global.set $calls (i32.add (global.get $calls) (i32.const 1)))
    (if (i32.eq (global.get $calls) (i32.const 1))
      (then (call $store_u64 (i64.const 17) (i64.const 0x00007FFF00000000))
            (call $store_u64 (i64.const 9) (i64.const 0))
            {check})
      (else (if (i64.lt_u (call $input_length) (i64.const 4000000)) (then (unreachable)))))
    (call $done)"#
            ),
        )
    };
    let root_kept = "(if (i64.eq (call $load_u64 (i64.const 17)) (i64.const 0x00007FFF00000000)) (then (unreachable)))";
    let big = HashMap::from([("in".to_string(), reflow_script::Message::String("x".repeat(4 << 20).into()))]);
    for (backend, wat) in [(Backend::Wasmtime, forge("")), (Backend::Extism, forge(root_kept))] {
        let module = load_wat(backend, &wat, &[], Limits::default()).unwrap();
        let mut actor = hostile_actor(&module).unwrap();
        let what = format!("{backend:?}: a forged allocator root, then a 4 MiB input");
        let big = big.clone();
        let results = within(HANG_GUARD, &what, move || {
            // A small input first (the kernel memory stays small), then the large one.
            [no_payload(), big.clone(), big].iter().map(|input| actor.process(input, None).map(|_| ()).map_err(|e| e.to_string())).collect::<Vec<_>>()
        });
        assert!(results.iter().all(Result::is_ok), "{what}: {results:?}");
    }
}

/// Finding 8, the other half: after a call that corrupted the kernel's header and *succeeded*,
/// the next call still starts from a sound header (the host resets it before every call).
#[test]
fn a_corrupted_heap_pointer_does_not_outlive_its_call() {
    for backend in BOTH {
        let wat = wat_plugin(
            r#"(import "extism:host/env" "input_length" (func $input_length (result i64)))
  (global $calls (mut i32) (i32.const 0))"#,
            r#"(global.set $calls (i32.add (global.get $calls) (i32.const 1)))
    (if (i32.eq (global.get $calls) (i32.const 1))
      (then (call $store_u64 (i64.const 0) (i64.const 0x0000000000F00000))))
    (call $done)"#,
        );
        let module = load_wat(backend, &wat, &[], Limits::default()).unwrap();
        let mut actor = hostile_actor(&module).unwrap();
        // The corrupting call may succeed or fail; Extism's kernel may also fail the next one
        // (its reset walks the corrupted heap, in wasm: a clean trap). Then it is sound again.
        let sound_from = if backend == Backend::Wasmtime { 1 } else { 2 };
        for call in 0..3 {
            let result = actor.process(&no_payload(), None);
            assert!(result.is_ok() || call < sound_from, "{backend:?}: call {call}: {result:?}");
        }
    }
}

/// Finding 7: a start function or `_initialize` that never returns fails the load, naming the
/// time limit, on both backends (Extism runs both before it starts its call timer).
#[test]
fn a_plugin_looping_in_its_start_function_or_initializer_fails_to_load() {
    let looping = r#"(func $forever (loop $l (br $l)))"#;
    let fixtures = [format!("{looping} (start $forever)"), format!(r#"{looping} (export "_initialize" (func $forever))"#)];
    for backend in BOTH {
        for extra in &fixtures {
            let wat = wat_plugin(extra, "(call $done)");
            let limits = Limits { call_timeout: Duration::from_millis(200), ..Limits::default() };
            let what = format!("{backend:?}: {extra}");
            let err = within(HANG_GUARD, &what, move || load_wat(backend, &wat, &[], limits).err()).expect("the load fails");
            assert!(err.to_string().contains("exceeded the 200 ms call time limit"), "{what}: {err}");
        }
    }
}

/// Finding 9: tables count against the memory limit: declared ones at load (both backends),
/// grown ones as they grow (our engine). Extism's limiter lets tables grow to their declared
/// maximum uncounted, so that backend refuses at load a module whose tables `table.grow` can
/// take past the limit, and loads one whose growth is bounded within it (docs/security.md).
#[test]
fn tables_count_against_the_memory_limit() {
    let limits = Limits { max_memory_pages: 16, ..Limits::default() };
    let many: String = (0..100).map(|i| format!("(table $t{i} 1000000 funcref)\n")).collect();
    for backend in BOTH {
        let err = load_wat(backend, &wat_plugin(&many, "(call $done)"), &[], limits).err().expect("refused");
        assert!(err.to_string().contains("the 16-page (1 MiB) memory limit"), "{backend:?}: {err}");
    }
    let growing = wat_plugin(
        "(table $t 1 funcref)",
        r#"(block $full (loop $grow
      (br_if $full (i32.eq (table.grow $t (ref.null func) (i32.const 100000)) (i32.const -1)))
      (br $grow)))
    (unreachable)"#,
    );
    let module = load_wat(Backend::Wasmtime, &growing, &[], limits).unwrap();
    let mut actor = hostile_actor(&module).unwrap();
    // table.grow returns -1 once the limiter refuses, and the plugin traps: the memory limit.
    let err = actor.process(&no_payload(), None).unwrap_err();
    assert_eq!(err.to_string(), "actor hostile: exceeded the 16-page (1 MiB) memory limit");

    let err = load_wat(Backend::Extism, &growing, &[], limits).err().expect("refused on the Extism backend");
    assert!(
        err.to_string().contains("its tables can grow (table.grow) without a declared maximum, past the 16-page (1 MiB) memory limit"),
        "{err}"
    );
    let capped = growing.replace("(table $t 1 funcref)", "(table $t 1 2000000 funcref)");
    let err = load_wat(Backend::Extism, &capped, &[], limits).err().expect("refused on the Extism backend");
    assert!(err.to_string().contains("to 2000000 elements, past the 16-page"), "{err}");
    // Growth bounded within the limit loads and grows, on both.
    let within_limit = wat_plugin(
        "(table $t 1 15001 funcref)",
        r#"(if (i32.eq (table.grow $t (ref.null func) (i32.const 15000)) (i32.const -1)) (then (unreachable)))
    (call $done)"#,
    );
    for backend in BOTH {
        let module = load_wat(backend, &within_limit, &[], limits).unwrap();
        hostile_actor(&module).unwrap().process(&no_payload(), None).unwrap_or_else(|e| panic!("{backend:?}: {e}"));
    }
}

/// Finding 6: a blocking WASI call (`poll_oneoff` on a 120 s clock) ends with the call's time
/// limit instead of holding the actor (and Ctrl-C, `network:stop`) until the clock fires. Our
/// engine cuts the call itself; on the Extism backend (whose WASI is out of reach) the call is
/// given up at its deadline and the actor goes on, on a new instance.
#[test]
fn a_blocking_wasi_call_ends_with_the_call_time_limit() {
    // One subscription (48 bytes at 1024): userdata 0, tag 0 (clock), clock id 1 (monotonic),
    // timeout 120 s in ns, precision 0, flags 0 (relative).
    let wat = wat_plugin(
        &format!(
            r#"{WASI}
  (data (i32.const 1024) "\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\01\00\00\00\00\00\00\00\00\b0\8e\f0\1b\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00")"#
        ),
        r#"(drop (call $poll_oneoff (i32.const 1024) (i32.const 2048) (i32.const 1) (i32.const 4096)))
    (call $done)"#,
    );
    let limits = Limits { call_timeout: Duration::from_millis(300), ..Limits::default() };
    for backend in BOTH {
        let module = load_wat(backend, &wat, &[], limits).unwrap();
        let mut actor = hostile_actor(&module).unwrap();
        let what = format!("{backend:?}: a 120 s poll_oneoff under a 300 ms limit, twice");
        // Twice: the second call runs on the instance that replaced the first.
        let errors = within(HANG_GUARD, &what, move || [(); 2].map(|()| actor.process(&no_payload(), None).unwrap_err().to_string()));
        assert_eq!(errors, ["actor hostile: exceeded the 300 ms call time limit"; 2], "{what}");
    }
}

/// Finding 14: a WASI plugin's stdout and stderr count against the call's log budget (our
/// engine; on the Extism backend they go nowhere, docs/security.md).
#[test]
fn wasi_stdout_is_cut_at_the_output_limit() {
    // 1000 writes of a 100-byte line (iovec at 1024 -> 1100, 100 bytes) to stdout and stderr.
    let line = format!("{}\\0a", "y".repeat(99));
    let wat = wat_plugin(
        &format!(
            r#"{WASI}
  (data (i32.const 1024) "\4c\04\00\00\64\00\00\00")
  (data (i32.const 1100) "{line}")"#
        ),
        r#"(local $i i32)
    (block $end (loop $write
      (br_if $end (i32.ge_u (local.get $i) (i32.const 1000)))
      (drop (call $fd_write (i32.add (i32.const 1) (i32.and (local.get $i) (i32.const 1))) (i32.const 1024) (i32.const 1) (i32.const 1200)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $write)))
    (call $done)"#,
    );
    let captured = CapturedLog::default();
    let limits = Limits { max_output_bytes: 10_000, ..Limits::default() };
    let module = load_wat(Backend::Wasmtime, &wat, &[], limits).unwrap();
    let mut actor = hostile_actor(&module).unwrap();
    tracing::subscriber::with_default(captured.subscriber("reflow_script=debug"), || {
        actor.process(&no_payload(), None).expect("printing never fails a call");
    });
    let text = captured.text();
    let lines = text.lines().filter(|l| l.contains("yyyyyyyyyy")).count();
    // Each line is logged as "stdout: " + 99 bytes: 107 bytes, so 93 fit in 10000.
    assert_eq!(lines, 10_000 / 107, "{lines} lines got through");
    assert_eq!(text.matches("further log lines are dropped").count(), 1);
}

/// A loopback HTTP server: each request gets `answer(path)` (a whole response); counts them.
fn http_server(answer: fn(&str, u16) -> String) -> (u16, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            // One thread per request: a slow answer must not hold up the next request.
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut request_line = String::new();
                let _ = reader.read_line(&mut request_line);
                let mut line = String::new();
                while reader.read_line(&mut line).is_ok_and(|n| n > 0) && line != "\r\n" {
                    line.clear();
                }
                let path = request_line.split_whitespace().nth(1).unwrap_or("/").to_string();
                let _ = stream.write_all(answer(&path, port).as_bytes());
            });
        }
    });
    (port, seen)
}

fn http_get(backend: Backend, url: &str, grants: &[&str], limits: Limits) -> Result<HashMap<String, reflow_script::Message>, ScriptError> {
    use reflow_script::{ActorConfig, ExtismEngine, PluginModule, ScriptConfig};
    let script = ScriptConfig { packages: Some(grants.iter().map(|g| g.to_string()).collect()), ..ScriptConfig::new(plugin_bytes("http_get.wasm")) };
    let module = PluginModule::load_on(backend, "http_get.wasm", &script, limits)?;
    let config = serde_json::json!({ "url": url }).as_object().cloned().unwrap();
    let actor = ActorConfig { node_id: "hostile".into(), component: "HttpGet".into(), config, ..ActorConfig::default() };
    ExtismEngine::from_module(&module, actor)?.process(&payload(serde_json::json!({"in": 1})), None)
}

fn ok(body: &str) -> String {
    format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len())
}

/// Finding 5: every hop of a redirect is checked against the grant: a granted host answering
/// 302 to a host that is not granted gets an error and the second host sees no request; a
/// redirect to a granted host is followed.
#[test]
fn http_redirects_are_checked_against_the_grant_at_every_hop() {
    let (secret_port, secret_seen) = http_server(|_, _| ok("the secret"));
    // Only the port of the server not granted is needed by the redirecting one: pass it in
    // the path the plugin asks for.
    let (port, _) = http_server(|path, port| {
        let target = match path.strip_prefix("/to-localhost/") {
            Some(secret_port) => format!("http://localhost:{secret_port}/secret"),
            None if path == "/to-granted" => format!("http://127.0.0.1:{port}/granted"),
            None => return ok("granted and followed"),
        };
        format!("HTTP/1.1 302 Found\r\nLocation: {target}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
    });
    for backend in BOTH {
        let err = http_get(backend, &format!("http://127.0.0.1:{port}/to-localhost/{secret_port}"), &["http:127.0.0.1"], Limits::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains(&format!("HTTP request to http://localhost:{secret_port}/secret is not allowed")), "{backend:?}: {err}");
        assert_eq!(secret_seen.load(std::sync::atomic::Ordering::SeqCst), 0, "{backend:?}: the host not granted saw no request");
        let out = http_get(backend, &format!("http://127.0.0.1:{port}/to-granted"), &["http:127.0.0.1"], Limits::default()).unwrap();
        assert_eq!(out["body"], reflow_script::Message::String("granted and followed".into()), "{backend:?}");
    }
}

/// An HTTP response larger than the call's output limit fails the call naming the limit, and
/// a server that never answers is cut at the call's time limit (both backends).
#[test]
fn http_responses_stay_within_the_output_and_time_limits() {
    let (port, _) = http_server(|path, _| match path {
        "/big" => ok(&"z".repeat(100_000)),
        _ => {
            std::thread::sleep(Duration::from_secs(120));
            ok("too late")
        }
    });
    for backend in BOTH {
        let small = Limits { max_output_bytes: 10_000, ..Limits::default() };
        let err = http_get(backend, &format!("http://127.0.0.1:{port}/big"), &["http:127.0.0.1"], small).unwrap_err();
        assert_eq!(err.to_string(), "actor hostile: exceeded the 10000-byte output limit", "{backend:?}");
        let quick = Limits { call_timeout: Duration::from_millis(500), ..Limits::default() };
        let url = format!("http://127.0.0.1:{port}/slow");
        let err = within(HANG_GUARD, "a request to a server that never answers", move || {
            http_get(backend, &url, &["http:127.0.0.1"], quick).unwrap_err()
        });
        assert_eq!(err.to_string(), "actor hostile: exceeded the 500 ms call time limit", "{backend:?}");
    }
}
