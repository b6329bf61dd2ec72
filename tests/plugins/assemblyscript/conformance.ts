// The AssemblyScript SDK's conformance plugin: the protocol of tests/conformance/README.md,
// written with the SDK's own API. The harness (crates/reflow_script/tests/conformance.rs)
// runs every case of tests/conformance/cases against it and the other SDKs' plugins.
import {
  ActorContext, ActorResult, Json, JsonKind, Message, MessageError, MessageType, PluginMetadata, port,
  exportMetadata, exportProcess, getState, setState, sendOutput, sendJson, typeFromName,
} from "../../../sdk/assemblyscript/assembly/index";

function metadata(): PluginMetadata {
  const m = new PluginMetadata();
  m.component = "Conformance";
  m.description = "The ABI conformance plugin (tests/conformance)";
  m.inports = [port("cmd", "What to do", "Object", true), port("in", "A message to echo", "Any")];
  m.outports = [
    port("out", "The answer", "Any"),
    port("extra", "A second answer", "Any"),
    port("sent", "Messages sent during the call", "Any"),
    port("count", "The counter", "Integer"),
  ];
  m.configSchema = Json.parse('{"type":"object","properties":{"initial_value":{"type":"integer","default":0}}}');
  return m;
}

function text(v: Json | null): string {
  return v !== null && v.kind == JsonKind.String ? v.str : "";
}

function integer(v: Json | null): i64 {
  return v !== null ? v.asInteger() : 0;
}

function orNull(v: Json | null): Json {
  return v === null ? Json.ofNull() : v;
}

/** A message of `type` from `data`, through the SDK's constructor for that type. */
function make(name: string, data: Json): Message | null {
  const type = typeFromName(name);
  switch (type) {
    case MessageType.Flow: return Message.flow();
    case MessageType.Event: return Message.event(data);
    case MessageType.Boolean: return data.kind == JsonKind.Bool ? Message.boolean(data.bool) : null;
    case MessageType.Integer: return data.isInteger() ? Message.integer(data.asInteger()) : null;
    case MessageType.Float: return data.isNumber() ? Message.float(data.asNumber()) : null;
    case MessageType.String: return data.kind == JsonKind.String ? Message.string(data.str) : null;
    case MessageType.Object: return Message.object(data);
    case MessageType.Array: return data.kind == JsonKind.Array ? Message.array(data) : null;
    case MessageType.Stream: {
      const bytes = new Message(MessageType.Stream, data).asBytes();
      return bytes === null ? null : Message.stream(bytes);
    }
    case MessageType.Optional: return Message.optional(data.isNull ? null : data);
    case MessageType.Any: return Message.any(data);
    case MessageType.Error: return data.kind == JsonKind.String ? Message.error(data.str) : null;
  }
  return null;
}

function length(v: Json | null): i64 {
  // Bytes of UTF-8, as every other SDK counts them.
  return v !== null && v.kind == JsonKind.String ? String.UTF8.byteLength(v.str) : -1;
}

function conform(ctx: ActorContext): ActorResult {
  const command = ctx.input("cmd");
  if (command === null || command.type != MessageType.Object) return ActorResult.fail("conformance: no Object command on `cmd`");
  const cmd = command.data;
  const op = text(cmd.get("op"));
  const result = new ActorResult();
  if (op == "echo") {
    const input = ctx.input("in");
    if (input === null) return ActorResult.fail("conformance: echo needs a message on `in`");
    result.output("out", input);
  } else if (op == "make") {
    const m = make(text(cmd.get("type")), orNull(cmd.get("data")));
    if (m === null) return ActorResult.fail("conformance: cannot make a " + text(cmd.get("type")));
    result.output("out", m);
  } else if (op == "send_plain") {
    sendJson(Json.object().set(text(cmd.get("port")), orNull(cmd.get("value"))));
  } else if (op == "send_then_return") {
    const sends = orNull(cmd.get("send"));
    for (let i = 0; i < sends.length; i++) {
      const pair = sends.at(i)!;
      const m = Message.fromJson(orNull(pair.at(1)));
      if (m === null) return ActorResult.fail("conformance: bad message to send: " + MessageError.last);
      sendOutput(text(pair.at(0)), m);
    }
    const returned = orNull(cmd.get("return"));
    for (let i = 0; i < returned.length; i++) {
      const m = Message.fromJson(returned.items[i]);
      if (m === null) return ActorResult.fail("conformance: bad message to return: " + MessageError.last);
      result.output(returned.keys[i], m);
    }
  } else if (op == "get_state") {
    result.output("out", Message.any(orNull(getState(text(cmd.get("key"))))));
  } else if (op == "set_get") {
    const key = text(cmd.get("key"));
    setState(key, orNull(cmd.get("value")));
    result.output("out", Message.any(orNull(getState(key))));
  } else if (op == "count") {
    const stored = ctx.state.get("count");
    const before: i64 = stored !== null ? stored.asInteger() : ctx.config.getInteger("initial_value", 0);
    result.state = Json.object().set("count", Json.ofInt(before + 1));
    result.output("count", Message.integer(before + 1));
  } else if (op == "keep_state") {
    result.output("out", Message.flow());
  } else if (op == "fail") {
    const dirty = cmd.get("dirty");
    if (dirty !== null && dirty.kind == JsonKind.Bool && dirty.bool) {
      setState("dirty", Json.ofBool(true));
      sendOutput("sent", Message.string("before failing"));
    }
    return ActorResult.fail(text(cmd.get("message")));
  } else if (op == "config") {
    const c = ctx.config;
    const s = c.getString("s");
    const absent = c.getString("absent");
    result.output("out", Message.object(Json.object()
      .set("integer", c.hasInteger("i") ? Json.ofInt(c.getInteger("i")) : Json.ofNull())
      .set("number", c.hasNumber("n") ? Json.ofFloat(c.getNumber("n")) : Json.ofNull())
      .set("string", s !== null ? Json.ofString(s) : Json.ofNull())
      .set("bool", c.hasBool("b") ? Json.ofBool(c.getBool("b")) : Json.ofNull())
      .set("missing", absent !== null ? Json.ofString(absent) : Json.ofNull())
      .set("node_id", Json.ofString(c.nodeId))
      .set("component", Json.ofString(c.component))));
  } else if (op == "fill") {
    const bytes = integer(cmd.get("bytes"));
    result.state = Json.object().set(text(cmd.get("key")), Json.ofString("x".repeat(<i32>bytes)));
    result.output("out", Message.integer(bytes));
  } else if (op == "measure") {
    const key = text(cmd.get("key"));
    result.output("out", Message.integer(length(ctx.state.get(key))));
    result.output("extra", Message.integer(length(getState(key))));
  } else if (op == "flood") {
    const count = integer(cmd.get("count"));
    for (let i: i64 = 0; i < count; i++) sendOutput("sent", Message.integer(i));
    result.output("out", Message.integer(count));
  } else {
    return ActorResult.fail("conformance: unknown op \"" + op + "\"");
  }
  return result;
}

export function get_metadata(): i32 {
  return exportMetadata(metadata());
}

export function process(): i32 {
  return exportProcess(conform);
}
