// Reflow messages (docs/abi.md, "Messages"): a type of the 12 and its data as JSON.

import { Json, JsonKind } from "./json";

export enum MessageType {
  Flow,
  Event,
  Boolean,
  Integer,
  Float,
  String,
  Object,
  Array,
  Stream,
  Optional,
  Any,
  Error,
}

const TYPE_NAMES: string[] = [
  "Flow", "Event", "Boolean", "Integer", "Float", "String",
  "Object", "Array", "Stream", "Optional", "Any", "Error",
];

/** The name written in a message's "type" field. */
export function typeName(type: MessageType): string {
  return TYPE_NAMES[<i32>type];
}

/** The type named `name`, or -1 when it is none of the 12. */
export function typeFromName(name: string): i32 {
  return TYPE_NAMES.indexOf(name);
}

export class Message {
  type: MessageType;
  /** The data: JSON null for Flow and an empty Optional. */
  data: Json;

  constructor(type: MessageType, data: Json) {
    this.type = type;
    this.data = data;
  }

  static flow(): Message {
    return new Message(MessageType.Flow, Json.ofNull());
  }
  static event(data: Json): Message {
    return new Message(MessageType.Event, data);
  }
  static boolean(value: bool): Message {
    return new Message(MessageType.Boolean, Json.ofBool(value));
  }
  static integer(value: i64): Message {
    return new Message(MessageType.Integer, Json.ofInt(value));
  }
  static float(value: f64): Message {
    return new Message(MessageType.Float, Json.ofFloat(value));
  }
  static string(value: string): Message {
    return new Message(MessageType.String, Json.ofString(value));
  }
  static object(data: Json): Message {
    return new Message(MessageType.Object, data);
  }
  /** `items`: a JSON array. */
  static array(items: Json): Message {
    return new Message(MessageType.Array, items);
  }
  static stream(bytes: Uint8Array): Message {
    const items = Json.array();
    for (let i = 0; i < bytes.length; i++) items.push(Json.ofInt(bytes[i]));
    return new Message(MessageType.Stream, items);
  }
  /** null: none. */
  static optional(value: Json | null): Message {
    return new Message(MessageType.Optional, value === null ? Json.ofNull() : value);
  }
  static any(data: Json): Message {
    return new Message(MessageType.Any, data);
  }
  static error(text: string): Message {
    return new Message(MessageType.Error, Json.ofString(text));
  }

  /** Reads a tagged message {"type": T, "data": D}; null, with `MessageError.last` set,
   * when it is not one (the host's own rules: an Integer may be written 42.0). */
  static fromJson(tagged: Json): Message | null {
    if (tagged.kind != JsonKind.Object) return bad("a message must be a JSON object");
    const name = tagged.get("type");
    const type = name !== null && name.kind == JsonKind.String ? typeFromName(name.str) : -1;
    if (type < 0) return bad("a message needs a \"type\" naming one of the 12 message types");
    const given = tagged.get("data");
    const data = given === null || type == MessageType.Flow ? Json.ofNull() : given;
    switch (type) {
      case MessageType.Boolean:
        if (data.kind != JsonKind.Bool) return wrongData(type);
        break;
      case MessageType.Integer:
        if (!data.isInteger()) return wrongData(type);
        return Message.integer(data.asInteger());
      case MessageType.Float:
        if (!data.isNumber()) return wrongData(type);
        break;
      case MessageType.String:
        if (data.kind != JsonKind.String) return wrongData(type);
        break;
      case MessageType.Array:
        if (data.kind != JsonKind.Array) return wrongData(type);
        break;
      case MessageType.Stream:
        if (!isBytes(data)) return wrongData(type);
        break;
      case MessageType.Error:
        if (data.kind != JsonKind.String) return Message.error(data.toString());
        break;
    }
    return new Message(<MessageType>type, data.clone());
  }

  /** The tagged form, a new JSON object. */
  toJson(): Json {
    return Json.object()
      .set("type", Json.ofString(typeName(this.type)))
      .set("data", this.type == MessageType.Flow ? Json.ofNull() : this.data);
  }

  /** Typed readers, by the data's kind (an Integer reads as a float too). */
  isInteger(): bool {
    return this.data.isInteger();
  }
  asInteger(): i64 {
    return this.data.asInteger();
  }
  asFloat(): f64 {
    return this.data.asNumber();
  }
  asBool(): bool {
    return this.data.kind == JsonKind.Bool && this.data.bool;
  }
  /** The string data, or null. */
  asString(): string | null {
    return this.data.kind == JsonKind.String ? this.data.str : null;
  }
  /** A Stream's bytes, or null if the data is not an array of bytes. */
  asBytes(): Uint8Array | null {
    if (!isBytes(this.data)) return null;
    const out = new Uint8Array(this.data.items.length);
    for (let i = 0; i < out.length; i++) out[i] = <u8>this.data.items[i].asInteger();
    return out;
  }

  clone(): Message {
    return new Message(this.type, this.data.clone());
  }
}

export class MessageError {
  static last: string = "";
}

function bad(why: string): Message | null {
  MessageError.last = why;
  return null;
}

function wrongData(type: i32): Message | null {
  return bad("the data of a " + TYPE_NAMES[type] + " message has the wrong kind");
}

function isBytes(data: Json): bool {
  if (data.kind != JsonKind.Array) return false;
  for (let i = 0; i < data.items.length; i++) {
    const b = data.items[i];
    if (!b.isInteger() || b.asInteger() < 0 || b.asInteger() > 255) return false;
  }
  return true;
}
