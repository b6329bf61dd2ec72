// What the host hands to `process` (ActorContext) and what it gets back (ActorResult).

import { Json, JsonKind } from "./json";
import { Message, MessageError } from "./message";

/** Who the actor is and how the graph configured it. */
export class ActorConfig {
  /** The process name in the graph. */
  nodeId: string = "";
  component: string = "";
  /** The per-process configuration (a JSON object, empty if none). */
  config: Json = Json.object();
  /** Environment values the graph granted (env: grants), empty unless granted. */
  resolvedEnv: Json = Json.object();
  /** null when the host sends null. */
  namespace: string | null = null;

  /** The raw value under `key`, or null. */
  get(key: string): Json | null {
    return this.config.get(key);
  }

  /** Whether `key` holds an integer (a whole float such as 3.0 counts). */
  hasInteger(key: string): bool {
    const v = this.config.get(key);
    return v !== null && v.isInteger();
  }
  /** The integer under `key`, or `fallback`. */
  getInteger(key: string, fallback: i64 = 0): i64 {
    const v = this.config.get(key);
    return v !== null && v.isInteger() ? v.asInteger() : fallback;
  }

  hasNumber(key: string): bool {
    const v = this.config.get(key);
    return v !== null && v.isNumber();
  }
  getNumber(key: string, fallback: f64 = 0): f64 {
    const v = this.config.get(key);
    return v !== null && v.isNumber() ? v.asNumber() : fallback;
  }

  /** The string under `key`, or null. */
  getString(key: string): string | null {
    const v = this.config.get(key);
    return v !== null && v.kind == JsonKind.String ? v.str : null;
  }

  hasBool(key: string): bool {
    const v = this.config.get(key);
    return v !== null && v.kind == JsonKind.Bool;
  }
  getBool(key: string, fallback: bool = false): bool {
    const v = this.config.get(key);
    return v !== null && v.kind == JsonKind.Bool ? v.bool : fallback;
  }

  /** A granted environment value, or null. */
  getEnv(name: string): string | null {
    const v = this.resolvedEnv.get(name);
    return v !== null && v.kind == JsonKind.String ? v.str : null;
  }
}

/** The input of one process call. */
export class ActorContext {
  /** The messages that arrived, by inport name (only the ports that have data). */
  payload: Map<string, Message> = new Map<string, Message>();
  config: ActorConfig = new ActorConfig();
  /** The actor's state as the host holds it (a JSON object, empty at first). */
  state: Json = Json.object();

  /** The message on `port`, or null. */
  input(port: string): Message | null {
    return this.payload.has(port) ? this.payload.get(port) : null;
  }

  /** Reads the host's JSON; null, with `ContextError.last` set, when it is not an ActorContext. */
  static fromJson(root: Json): ActorContext | null {
    if (root.kind != JsonKind.Object) return fail("the ActorContext is not a JSON object");
    const ctx = new ActorContext();
    const payload = root.get("payload");
    if (payload !== null && payload.kind == JsonKind.Object) {
      for (let i = 0; i < payload.keys.length; i++) {
        const m = Message.fromJson(payload.items[i]);
        if (m === null) return fail("inport \"" + payload.keys[i] + "\": " + MessageError.last);
        ctx.payload.set(payload.keys[i], m);
      }
    }
    const state = root.get("state");
    if (state !== null && state.kind == JsonKind.Object) ctx.state = state;
    const config = root.get("config");
    if (config !== null && config.kind == JsonKind.Object) {
      const c = ctx.config;
      c.nodeId = stringOr(config.get("node_id"), "");
      c.component = stringOr(config.get("component"), "");
      const inner = config.get("config");
      if (inner !== null && inner.kind == JsonKind.Object) c.config = inner;
      const env = config.get("resolved_env");
      if (env !== null && env.kind == JsonKind.Object) c.resolvedEnv = env;
      const ns = config.get("namespace");
      if (ns !== null && ns.kind == JsonKind.String) c.namespace = ns.str;
    }
    return ctx;
  }
}

export class ContextError {
  static last: string = "";
}

function fail(why: string): ActorContext | null {
  ContextError.last = why;
  return null;
}

function stringOr(v: Json | null, fallback: string): string {
  return v !== null && v.kind == JsonKind.String ? v.str : fallback;
}

/** The answer of one process call. */
export class ActorResult {
  /** Messages to send, by outport name, in the order first set. */
  outputs: Map<string, Message> = new Map<string, Message>();
  /** The actor's new state (a JSON object), replacing the host's copy; null: no change. */
  state: Json | null = null;
  /** Set by `ActorResult.fail`: the call fails with this message. */
  error: string | null = null;

  /** Returns `message` on `port` (a second one on the port replaces the first). */
  output(port: string, message: Message): ActorResult {
    this.outputs.set(port, message);
    return this;
  }

  /** A result that fails the call with `message`: nothing it holds is delivered and the
   * state stays as it was (AssemblyScript has no exceptions to throw). */
  static fail(message: string): ActorResult {
    const r = new ActorResult();
    r.error = message;
    return r;
  }

  toJson(): Json {
    const outputs = Json.object();
    const ports = this.outputs.keys();
    for (let i = 0; i < ports.length; i++) outputs.set(ports[i], this.outputs.get(ports[i]).toJson());
    const out = Json.object().set("outputs", outputs);
    // No "state" key at all when unchanged, as the original Reflow SDKs write it.
    const state = this.state;
    if (state !== null) out.set("state", state);
    return out;
  }
}
