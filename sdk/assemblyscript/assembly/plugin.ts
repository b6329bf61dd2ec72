// The plugin's two exports, written by the plugin as one-liners over these functions:
//
//   export function get_metadata(): i32 { return exportMetadata(metadata()); }
//   export function process(): i32 { return exportProcess(myProcess); }

import { Json, JsonError } from "./json";
import { ActorContext, ActorResult, ContextError } from "./context";
import { inputText, outputText, setError } from "./host";
import { Host, LogLevel } from "@extism/as-pdk";

export class PortDefinition {
  name: string;
  description: string;
  /** A message type name (Integer, Flow, ...) or Any. */
  portType: string;
  /** An inport that must hold a message before process is called. */
  required: bool;

  constructor(name: string, description: string, portType: string, required: bool = false) {
    this.name = name;
    this.description = description;
    this.portType = portType;
    this.required = required;
  }

  toJson(): Json {
    return Json.object()
      .set("name", Json.ofString(this.name))
      .set("description", Json.ofString(this.description))
      .set("port_type", Json.ofString(this.portType))
      .set("required", Json.ofBool(this.required));
  }
}

/** A port: port(name, description, type) or, for a required inport, port(..., true). */
export function port(name: string, description: string, portType: string, required: bool = false): PortDefinition {
  return new PortDefinition(name, description, portType, required);
}

export class PluginMetadata {
  component: string = "";
  description: string = "";
  inports: PortDefinition[] = [];
  outports: PortDefinition[] = [];
  /** A JSON schema for the config, or null. */
  configSchema: Json | null = null;

  toJson(): Json {
    const inports = Json.array();
    for (let i = 0; i < this.inports.length; i++) inports.push(this.inports[i].toJson());
    const outports = Json.array();
    for (let i = 0; i < this.outports.length; i++) outports.push(this.outports[i].toJson());
    const schema = this.configSchema;
    return Json.object()
      .set("component", Json.ofString(this.component))
      .set("description", Json.ofString(this.description))
      .set("inports", inports)
      .set("outports", outports)
      .set("config_schema", schema === null ? Json.ofNull() : schema);
  }
}

/** The get_metadata export's body. */
export function exportMetadata(metadata: PluginMetadata): i32 {
  outputText(metadata.toJson().toString());
  return 0;
}

/** The process export's body: reads the ActorContext, calls `process`, writes its result,
 * or reports its error (ActorResult.fail) with Extism's error_set. */
export function exportProcess(process: (ctx: ActorContext) => ActorResult): i32 {
  const root = Json.tryParse(inputText());
  if (root === null) {
    setError("reflow: cannot decode the ActorContext: " + JsonError.last);
    return 1;
  }
  const ctx = ActorContext.fromJson(root);
  if (ctx === null) {
    setError("reflow: cannot decode the ActorContext: " + ContextError.last);
    return 1;
  }
  const result = process(ctx);
  const error = result.error;
  if (error !== null) {
    setError(error);
    return 1;
  }
  outputText(result.toJson().toString());
  return 0;
}

export function logDebug(text: string): void {
  Host.log(LogLevel.Debug, text);
}
export function logInfo(text: string): void {
  Host.log(LogLevel.Info, text);
}
export function logWarn(text: string): void {
  Host.log(LogLevel.Warn, text);
}
export function logError(text: string): void {
  Host.log(LogLevel.Error, text);
}

/** The abort handler every plugin is built with (`--use abort=...`, see the build): it
 * reports where the plugin aborted as the call's error, then traps. */
export function reflowAbort(message: string | null, fileName: string | null, line: u32, column: u32): void {
  const text = "plugin aborted: " + (message === null ? "" : message) + " at " +
    (fileName === null ? "?" : fileName) + ":" + line.toString() + ":" + column.toString();
  logError(text);
  setError(text);
  unreachable();
}
