//! Generated hostile modules: random calls of the Extism ABI's imports (ours and Extism's)
//! with random handles and lengths, random memory and table sizes, sometimes a loop that
//! never ends, each run on both backends. The host must never panic or crash, every call
//! must end (within its time limit; the hang guard only turns a hang into a failure), and a
//! failure is a one-line error. `REFLOW_FUZZ_CASES` sets the number of modules (default 12
//! in the suite; `REFLOW_FUZZ_CASES=500 cargo test -p reflow_script --test main fuzz::` for
//! a longer run).

use crate::support::*;
use proptest::prelude::*;
use reflow_script::{Backend, Limits};
use std::collections::HashMap;
use std::time::Duration;

/// The imports a plugin may call: (module, name, parameter count, result type).
const ABI: &[(&str, &str, usize, Option<&str>)] = &[
    ("extism:host/env", "alloc", 1, Some("i64")),
    ("extism:host/env", "free", 1, None),
    ("extism:host/env", "length", 1, Some("i64")),
    ("extism:host/env", "length_unsafe", 1, Some("i64")),
    ("extism:host/env", "load_u8", 1, Some("i32")),
    ("extism:host/env", "load_u64", 1, Some("i64")),
    ("extism:host/env", "store_u8", 2, None),
    ("extism:host/env", "store_u64", 2, None),
    ("extism:host/env", "input_length", 0, Some("i64")),
    ("extism:host/env", "input_load_u8", 1, Some("i32")),
    ("extism:host/env", "input_load_u64", 1, Some("i64")),
    ("extism:host/env", "output_set", 2, None),
    ("extism:host/env", "error_set", 1, None),
    ("extism:host/env", "config_get", 1, Some("i64")),
    ("extism:host/env", "var_get", 1, Some("i64")),
    ("extism:host/env", "var_set", 2, None),
    ("extism:host/env", "log_info", 1, None),
    ("extism:host/env", "log_error", 1, None),
    ("extism:host/env", "get_log_level", 0, Some("i32")),
    ("extism:host/env", "http_request", 2, Some("i64")),
    ("extism:host/env", "http_status_code", 0, Some("i32")),
    ("extism:host/user", "__get_state", 1, Some("i64")),
    ("extism:host/user", "__set_state", 2, None),
    ("extism:host/user", "__send_output", 1, None),
];

/// An argument: a constant, or the last handle a call returned (plus an offset).
#[derive(Debug, Clone)]
enum Arg {
    Const(u64),
    Last(i64),
}

#[derive(Debug, Clone)]
enum Op {
    Call(usize, Vec<Arg>),
    /// Store the last handle's bytes as JSON text (`{}`), so host functions get past decoding.
    Json,
    Forever,
}

#[derive(Debug, Clone)]
struct Program {
    memory: (u32, Option<u32>),
    tables: Vec<(u32, Option<u32>)>,
    ops: Vec<Op>,
    status: i32,
}

fn arg() -> impl Strategy<Value = Arg> {
    prop_oneof![
        Just(Arg::Const(0)),
        (0u64..256).prop_map(Arg::Const),
        (0u64..0x30000).prop_map(Arg::Const),
        prop::sample::select(vec![0xFFFF_FFF0u64, 0xFFFF_FFFF, 1 << 32, u64::MAX, 0xFFFF_FFF0_0000_0010, 0x00F0_0000])
            .prop_map(Arg::Const),
        any::<u64>().prop_map(Arg::Const),
        (-24i64..24).prop_map(Arg::Last),
        (-24i64..24).prop_map(Arg::Last),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        20 => (0..ABI.len()).prop_flat_map(|i| prop::collection::vec(arg(), ABI[i].2).prop_map(move |args| Op::Call(i, args))),
        2 => Just(Op::Json),
        1 => Just(Op::Forever),
    ]
}

fn program() -> impl Strategy<Value = Program> {
    (
        (1u32..4, prop::option::of(0u32..8)),
        prop::collection::vec((0u32..2_000_000, prop::option::of(0u32..100)), 0..3),
        prop::collection::vec(op(), 0..24),
        prop_oneof![Just(0), Just(0), Just(1), any::<i32>()],
    )
        .prop_map(|((min, extra), tables, ops, status)| Program {
            memory: (min, extra.map(|e| min + e)),
            tables: tables.into_iter().map(|(t, extra)| (t, extra.map(|e| t + e))).collect(),
            ops,
            status,
        })
}

fn to_wat(program: &Program) -> String {
    let mut extra = String::new();
    for (i, (module, name, params, result)) in ABI.iter().enumerate() {
        let params = " i64".repeat(*params);
        // store_u8's value is an i32.
        let params = if *name == "store_u8" { " i64 i32".to_string() } else { params };
        let result = result.map(|r| format!(" (result {r})")).unwrap_or_default();
        extra.push_str(&format!("  (import \"{module}\" \"{name}\" (func $f{i} (param{params}){result}))\n"));
    }
    extra.push_str("  (global $last (mut i64) (i64.const 0))\n");
    for (i, (min, max)) in program.tables.iter().enumerate() {
        extra.push_str(&format!("  (table $t{i} {min} {} funcref)\n", max.map(|m| m.to_string()).unwrap_or_default()));
    }
    let mut body = String::new();
    for op in &program.ops {
        match op {
            Op::Call(i, args) => {
                let (_, name, _, result) = ABI[*i];
                let mut call = format!("(call $f{i}");
                for (n, a) in args.iter().enumerate() {
                    let value = match a {
                        Arg::Const(c) => format!("(i64.const {})", *c as i64),
                        Arg::Last(d) => format!("(i64.add (global.get $last) (i64.const {d}))"),
                    };
                    call.push(' ');
                    call.push_str(&if name == "store_u8" && n == 1 { format!("(i32.wrap_i64 {value})") } else { value });
                }
                call.push(')');
                body.push_str(&match result {
                    Some("i64") => format!("    (global.set $last {call})\n"),
                    Some(_) => format!("    (drop {call})\n"),
                    None => format!("    {call}\n"),
                });
            }
            Op::Json => body.push_str("    (global.set $last (call $emit (i32.const 512) (i32.const 14)))\n"),
            Op::Forever => body.push_str("    (loop $l (br $l))\n"),
        }
    }
    body.push_str(&if program.status == 0 { "    (call $done)".to_string() } else { format!("    (i32.const {})", program.status) });
    let (min, max) = program.memory;
    let memory = format!("(memory (export \"memory\") {min} {})", max.map(|m| m.to_string()).unwrap_or_default());
    wat_plugin_with(&memory, &extra, &body)
}

fn cases() -> u32 {
    std::env::var("REFLOW_FUZZ_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(12)
}

/// Runs `program` twice on `backend`; panics only if the host misbehaves.
fn run(backend: Backend, program: &Program) {
    let wat = to_wat(program);
    let limits = Limits {
        max_memory_pages: 64,
        call_timeout: Duration::from_millis(300),
        max_output_bytes: 64 << 10,
        fuel: None,
    };
    let grants = vec!["http:127.0.0.1".to_string(), "env:KEY=value".to_string()];
    within(Duration::from_secs(60), &format!("{backend:?}: {program:?}"), move || {
        let Ok(module) = load_wat(backend, &wat, &grants, limits) else { return };
        let Ok(mut actor) = hostile_actor(&module) else { return };
        for _ in 0..2 {
            if let Err(e) = actor.process(&HashMap::new(), None) {
                assert!(!e.to_string().contains('\n'), "a failure is one line: {e}");
            }
        }
    });
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn hostile_modules_never_crash_or_hang_the_host(program in program()) {
        for backend in [Backend::Wasmtime, Backend::Extism] {
            run(backend, &program);
        }
    }
}
