// The spec's doubler in AssemblyScript: doubles each Integer on `input` (examples/rust/doubler).
import {
  ActorContext, ActorResult, Message, MessageType, PluginMetadata, port, exportMetadata, exportProcess,
} from "../../sdk/assemblyscript/assembly/index";

function metadata(): PluginMetadata {
  const m = new PluginMetadata();
  m.component = "MyActor";
  m.description = "Example WASM actor";
  m.inports = [port("input", "Input port", "Integer", true)];
  m.outports = [port("output", "Output port", "Integer")];
  return m;
}

function double(ctx: ActorContext): ActorResult {
  const result = new ActorResult();
  const input = ctx.input("input");
  if (input !== null && input.type == MessageType.Integer) {
    result.output("output", Message.integer(input.asInteger() * 2));
  }
  return result;
}

export function get_metadata(): i32 {
  return exportMetadata(metadata());
}

export function process(): i32 {
  return exportProcess(double);
}
