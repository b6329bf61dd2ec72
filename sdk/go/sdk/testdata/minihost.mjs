// A minimal stand-in for the Reflow host, to run a Go plugin end to end without the Rust
// workspace: it implements the `extism:host/env` functions a go-pdk plugin imports (a bump
// allocator over a separate byte arena, as Extism's kernel), the three `extism:host/user`
// functions of docs/abi.md, and WASI preview1 with nothing granted (node:wasi).
//
// It is a test tool, not the host: the real one is crates/reflow_script.
//
//   node minihost.mjs PLUGIN.wasm STEPS.json
//
// STEPS.json: {"config": {...ActorConfig}, "state": {...}, "steps": [STEP, ...]}, where a
// STEP is {"call": "get_metadata"} or {"call": "process", "payload": {...}}. The context of
// each process call is built from the config and the host's current state; a successful
// call's non-null "state" replaces the host's state, a failed call restores the state it
// had before the call. Prints one JSON transcript: per step the status, the output (parsed),
// the error text, what __send_output sent, and the state afterwards.

import fs from 'node:fs';
import { WASI } from 'node:wasi';

const [wasmPath, stepsPath] = process.argv.slice(2);
if (!wasmPath || !stepsPath) {
  console.error('usage: node minihost.mjs PLUGIN.wasm STEPS.json');
  process.exit(2);
}
const script = JSON.parse(fs.readFileSync(stepsPath, 'utf8'));

// ---- extism:host/env: a kernel arena with handles = offsets, 0 = null.
let arena = new Uint8Array(1 << 16);
let top = 64;
const blocks = new Map(); // offset -> {len, active}
let input = new Uint8Array(0);
let output = null; // {offset, len}
let errorHandle = 0;

function view() { return new DataView(arena.buffer); }
function ensure(end) {
  if (end <= arena.length) return;
  let size = arena.length;
  while (size < end) size *= 2;
  const bigger = new Uint8Array(size);
  bigger.set(arena);
  arena = bigger;
}
function check(h, n) {
  if (h <= 0 || h + n > top) throw new Error(`handle ${h}+${n} out of bounds`);
}
function alloc(n) {
  if (n === 0) return 0;
  const off = top;
  top = off + ((n + 7) & ~7);
  ensure(top);
  arena.fill(0, off, top);
  blocks.set(off, { len: n, active: true });
  return off;
}
function length(h) {
  const b = blocks.get(h);
  return b && b.active ? b.len : 0;
}
function readHandle(h, what) {
  const len = length(h);
  if (h !== 0 && len === 0) throw new Error(`${what}: bad handle ${h}`);
  return arena.slice(h, h + len);
}
function writeBytes(bytes) {
  const h = alloc(bytes.length);
  arena.set(bytes, h);
  return h;
}
const utf8 = new TextDecoder('utf-8', { fatal: true });
const enc = new TextEncoder();

const env = {
  alloc: (n) => BigInt(alloc(Number(n))),
  free: (h) => { const b = blocks.get(Number(h)); if (b) b.active = false; },
  length: (h) => BigInt(length(Number(h))),
  length_unsafe: (h) => BigInt(length(Number(h))),
  load_u8: (h) => { check(Number(h), 1); return arena[Number(h)]; },
  load_u64: (h) => { check(Number(h), 8); return view().getBigUint64(Number(h), true); },
  store_u8: (h, v) => { check(Number(h), 1); arena[Number(h)] = v & 0xff; },
  store_u64: (h, v) => { check(Number(h), 8); view().setBigUint64(Number(h), BigInt.asUintN(64, v), true); },
  input_length: () => BigInt(input.length),
  input_load_u8: (o) => { const i = Number(o); return i < input.length ? input[i] : 0; },
  input_load_u64: (o) => {
    const i = Number(o);
    let v = 0n;
    for (let k = 7; k >= 0; k--) v = (v << 8n) | BigInt(i + k < input.length ? input[i + k] : 0);
    return v;
  },
  output_set: (h, n) => { output = { offset: Number(h), len: Number(n) }; },
  error_set: (h) => { errorHandle = Number(h); },
  config_get: () => 0n,
  var_get: () => 0n,
  var_set: () => {},
  get_log_level: () => 0x7fffffff,
  log_trace: () => {}, log_debug: () => {}, log_info: () => {}, log_warn: () => {}, log_error: () => {},
  http_request: () => { throw new Error('http is not granted'); },
  http_status_code: () => 0,
  http_headers: () => 0n,
};

// ---- extism:host/user: the Reflow host functions.
let state = structuredClone(script.state ?? {});
let sent = [];
const user = {
  __get_state: (k) => {
    const key = utf8.decode(readHandle(Number(k), '__get_state key'));
    const value = Object.hasOwn(state, key) ? state[key] : null;
    return BigInt(writeBytes(enc.encode(JSON.stringify(value))));
  },
  __set_state: (k, v) => {
    const key = utf8.decode(readHandle(Number(k), '__set_state key'));
    state[key] = JSON.parse(utf8.decode(readHandle(Number(v), '__set_state value')));
  },
  __send_output: (o) => {
    const outputs = JSON.parse(utf8.decode(readHandle(Number(o), '__send_output')));
    if (outputs === null || typeof outputs !== 'object' || Array.isArray(outputs)) {
      throw new Error('__send_output: not a JSON object');
    }
    sent.push(outputs);
  },
};

// ---- Load, initialize, run the steps.
const module = new WebAssembly.Module(fs.readFileSync(wasmPath));
const wasi = new WASI({ version: 'preview1', args: [], env: {}, preopens: {}, returnOnExit: true });
const imports = { wasi_snapshot_preview1: wasi.wasiImport, 'extism:host/env': env, 'extism:host/user': user };
for (const imp of WebAssembly.Module.imports(module)) {
  if (!imports[imp.module] || !(imp.name in imports[imp.module])) {
    console.error(`unknown import ${imp.module}.${imp.name}`);
    process.exit(2);
  }
}
const instance = new WebAssembly.Instance(module, imports);
wasi.initialize(instance); // runs the reactor's _initialize (Go: package init)

function call(name, bytes) {
  // Like Extism's reset before each call: fresh arena, input, no output, no error.
  blocks.clear();
  top = 64;
  input = bytes;
  output = null;
  errorHandle = 0;
  sent = [];
  let status;
  try {
    status = instance.exports[name]();
  } catch (e) {
    return { status: 'trap', error: String(e && e.message || e), sent };
  }
  const result = { status, sent };
  if (output) result.output = JSON.parse(utf8.decode(arena.slice(output.offset, output.offset + output.len)));
  if (errorHandle) result.error = utf8.decode(readHandle(errorHandle, 'error_set'));
  return result;
}

const transcript = [];
for (const step of script.steps) {
  if (step.call === 'get_metadata') {
    transcript.push(call('get_metadata', new Uint8Array(0)));
    continue;
  }
  const before = structuredClone(state);
  const context = { payload: step.payload ?? {}, config: script.config, state: structuredClone(state) };
  const r = call(step.call, enc.encode(JSON.stringify(context)));
  if (r.status === 0 && r.output && r.output.state != null) state = structuredClone(r.output.state);
  if (r.status !== 0) state = before;
  r.state = structuredClone(state);
  transcript.push(r);
}
console.log(JSON.stringify(transcript, null, 2));
