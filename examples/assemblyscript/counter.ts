// The spec's stateful counter in AssemblyScript (examples/rust/counter): Flow messages on
// increment and decrement count up and down, reset returns to the config's initial_value.
import {
  ActorContext, ActorResult, Json, Message, PluginMetadata, port, exportMetadata, exportProcess,
} from "../../sdk/assemblyscript/assembly/index";

function metadata(): PluginMetadata {
  const m = new PluginMetadata();
  m.component = "Counter";
  m.description = "Stateful counter actor";
  m.inports = [
    port("increment", "Increment counter", "Flow"),
    port("decrement", "Decrement counter", "Flow"),
    port("reset", "Reset counter", "Flow"),
  ];
  m.outports = [port("count", "Current count", "Integer")];
  m.configSchema = Json.parse('{"type":"object","properties":{"initial_value":{"type":"integer","default":0}}}');
  return m;
}

function count(ctx: ActorContext): ActorResult {
  const initial = ctx.config.getInteger("initial_value", 0);
  const stored = ctx.state.get("count");
  let count: i64 = stored !== null && stored.isInteger() ? stored.asInteger() : initial;
  if (ctx.input("increment") !== null) count += 1;
  else if (ctx.input("decrement") !== null) count -= 1;
  else if (ctx.input("reset") !== null) count = initial;

  const result = new ActorResult();
  result.output("count", Message.integer(count));
  result.state = Json.object().set("count", Json.ofInt(count));
  return result;
}

export function get_metadata(): i32 {
  return exportMetadata(metadata());
}

export function process(): i32 {
  return exportProcess(count);
}
