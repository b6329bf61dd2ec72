// The Reflow host functions (docs/abi.md, "Host functions"), over Extism memory handles,
// and the call's input, output and error.

import { Json } from "./json";
import { Message } from "./message";
import { Host, Memory } from "@extism/as-pdk";
import { error_set, free, length } from "@extism/as-pdk/lib/env";

@external("extism:host/user", "__get_state")
declare function hostGetState(key: u64): u64;
@external("extism:host/user", "__set_state")
declare function hostSetState(key: u64, value: u64): void;
@external("extism:host/user", "__send_output")
declare function hostSendOutput(outputs: u64): void;

/** Text into a new Extism block, as UTF-8. */
export function toMemory(text: string): Memory {
  return Memory.allocateBytes(Uint8Array.wrap(String.UTF8.encode(text)));
}

/** The value under `key` in the actor's state now (seeing setState writes of this call),
 * or null when absent. */
export function getState(key: string): Json | null {
  const k = toMemory(key);
  const handle = hostGetState(k.offset);
  k.free();
  if (handle == 0) return null;
  const memory = new Memory(handle, length(handle));
  const text = memory.toString();
  free(handle);
  const value = Json.tryParse(text);
  return value === null || value.isNull ? null : value;
}

/** Sets `key` to `value` in the actor's state at once. */
export function setState(key: string, value: Json): void {
  const k = toMemory(key);
  const v = toMemory(value.toString());
  hostSetState(k.offset, v.offset);
  k.free();
  v.free();
}

/** Sends a JSON object {port: tagged message or plain JSON value} now, while the call runs. */
export function sendJson(outputs: Json): void {
  const memory = toMemory(outputs.toString());
  hostSendOutput(memory.offset);
  memory.free();
}

/** Sends `message` on `port` now: it arrives before the outputs the call returns. */
export function sendOutput(port: string, message: Message): void {
  sendJson(Json.object().set(port, message.toJson()));
}

/** The call's input as text (UTF-8 decoded). */
export function inputText(): string {
  return String.UTF8.decode(Host.input().buffer);
}

/** Sets the call's output to `text`, as UTF-8 (its byte length, not its UTF-16 one). */
export function outputText(text: string): void {
  Host.output(Uint8Array.wrap(String.UTF8.encode(text)));
}

/** Reports `message` as the call's error (Extism's error_set). */
export function setError(message: string): void {
  error_set(toMemory(message).offset);
}
