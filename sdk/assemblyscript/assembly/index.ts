// The Reflow AssemblyScript SDK: write Reflow actors as WebAssembly plugins (docs/abi.md).
// See docs/writing-plugins-assemblyscript.md.

export { Json, JsonKind, JsonError } from "./json";
export { Message, MessageType, MessageError, typeName, typeFromName } from "./message";
export { ActorConfig, ActorContext, ActorResult } from "./context";
export { getState, setState, sendOutput, sendJson } from "./host";
export {
  PluginMetadata, PortDefinition, port, exportMetadata, exportProcess,
  logDebug, logInfo, logWarn, logError, reflowAbort,
} from "./plugin";
