// JSON values and their text, for the AssemblyScript SDK: AssemblyScript's standard library
// has no JSON, and the ABI is JSON text (docs/abi.md). Strings are AssemblyScript strings
// (UTF-16); the text crosses the host boundary as UTF-8 (see host.ts).

export enum JsonKind {
  Null,
  Bool,
  /** A number written without fraction or exponent that fits an i64. */
  Int,
  /** Any other number. */
  Float,
  String,
  Array,
  Object,
}

/** Nesting deeper than this is refused rather than overflowing the plugin's stack. */
const MAX_DEPTH = 256;

/** One JSON value. Objects keep their keys in insertion order. */
export class Json {
  kind: JsonKind = JsonKind.Null;
  bool: bool = false;
  int: i64 = 0;
  float: f64 = 0;
  str: string = "";
  items: Array<Json> = [];
  keys: Array<string> = [];

  static ofNull(): Json {
    return new Json();
  }

  static ofBool(value: bool): Json {
    const v = new Json();
    v.kind = JsonKind.Bool;
    v.bool = value;
    return v;
  }

  static ofInt(value: i64): Json {
    const v = new Json();
    v.kind = JsonKind.Int;
    v.int = value;
    return v;
  }

  static ofFloat(value: f64): Json {
    const v = new Json();
    v.kind = JsonKind.Float;
    v.float = value;
    return v;
  }

  static ofString(value: string): Json {
    const v = new Json();
    v.kind = JsonKind.String;
    v.str = value;
    return v;
  }

  static array(): Json {
    const v = new Json();
    v.kind = JsonKind.Array;
    return v;
  }

  static object(): Json {
    const v = new Json();
    v.kind = JsonKind.Object;
    return v;
  }

  /** Parses JSON text; throws (aborts the call with the reason) on bad text. Use
   * `Json.tryParse` to handle bad text yourself. */
  static parse(text: string): Json {
    const r = new Reader(text);
    const v = r.document();
    if (v === null) throw new Error(r.error);
    return v;
  }

  /** Parses JSON text; null, with `JsonError.last` set to the reason, on bad text. */
  static tryParse(text: string): Json | null {
    const r = new Reader(text);
    const v = r.document();
    if (v === null) JsonError.last = r.error;
    return v;
  }

  get isNull(): bool {
    return this.kind == JsonKind.Null;
  }

  /** Items of an array or entries of an object; 0 otherwise. */
  get length(): i32 {
    return this.kind == JsonKind.Array || this.kind == JsonKind.Object ? this.items.length : 0;
  }

  /** The object's value under `key`, or null. */
  get(key: string): Json | null {
    if (this.kind != JsonKind.Object) return null;
    const i = this.keys.indexOf(key);
    return i < 0 ? null : this.items[i];
  }

  has(key: string): bool {
    return this.get(key) !== null;
  }

  /** The array's item at `index`, or null. */
  at(index: i32): Json | null {
    return this.kind == JsonKind.Array && index >= 0 && index < this.items.length ? this.items[index] : null;
  }

  /** Sets `key` in an object (replacing an older value); returns this object. */
  set(key: string, value: Json): Json {
    if (this.kind != JsonKind.Object) return this;
    const i = this.keys.indexOf(key);
    if (i >= 0) this.items[i] = value;
    else {
      this.keys.push(key);
      this.items.push(value);
    }
    return this;
  }

  /** Appends to an array; returns this array. */
  push(value: Json): Json {
    if (this.kind == JsonKind.Array) this.items.push(value);
    return this;
  }

  /** An integer: an Int, or a whole Float (3.0, as JavaScript writes it). */
  isInteger(): bool {
    if (this.kind == JsonKind.Int) return true;
    return this.kind == JsonKind.Float && this.float == Math.floor(this.float) &&
      this.float >= -9223372036854775808.0 && this.float < 9223372036854775808.0;
  }

  /** The integer (see isInteger), or 0. */
  asInteger(): i64 {
    if (this.kind == JsonKind.Int) return this.int;
    return this.isInteger() ? <i64>this.float : 0;
  }

  isNumber(): bool {
    return this.kind == JsonKind.Int || this.kind == JsonKind.Float;
  }

  /** The number (an Int converted), or 0. */
  asNumber(): f64 {
    if (this.kind == JsonKind.Float) return this.float;
    return this.kind == JsonKind.Int ? <f64>this.int : 0;
  }

  clone(): Json {
    const v = new Json();
    v.kind = this.kind;
    v.bool = this.bool;
    v.int = this.int;
    v.float = this.float;
    v.str = this.str;
    for (let i = 0; i < this.items.length; i++) v.items.push(this.items[i].clone());
    for (let i = 0; i < this.keys.length; i++) v.keys.push(this.keys[i]);
    return v;
  }

  /** Compact JSON text. NaN and infinities are written as null. */
  toString(): string {
    const parts = new Array<string>();
    write(this, parts);
    return parts.join("");
  }
}

export class JsonError {
  static last: string = "";
}

function write(v: Json, out: Array<string>): void {
  switch (v.kind) {
    case JsonKind.Null:
      out.push("null");
      break;
    case JsonKind.Bool:
      out.push(v.bool ? "true" : "false");
      break;
    case JsonKind.Int:
      out.push(v.int.toString());
      break;
    case JsonKind.Float:
      writeFloat(v.float, out);
      break;
    case JsonKind.String:
      writeString(v.str, out);
      break;
    case JsonKind.Array:
      out.push("[");
      for (let i = 0; i < v.items.length; i++) {
        if (i > 0) out.push(",");
        write(v.items[i], out);
      }
      out.push("]");
      break;
    case JsonKind.Object:
      out.push("{");
      for (let i = 0; i < v.items.length; i++) {
        if (i > 0) out.push(",");
        writeString(v.keys[i], out);
        out.push(":");
        write(v.items[i], out);
      }
      out.push("}");
      break;
  }
}

function writeFloat(f: f64, out: Array<string>): void {
  if (!isFinite(f)) {
    out.push("null");
    return;
  }
  // AssemblyScript writes the shortest text that reads back as the same f64, and keeps a
  // ".0" on whole numbers, so the value stays a float for readers that tell them apart.
  out.push(f.toString());
}

const HEX = "0123456789abcdef";

function writeString(s: string, out: Array<string>): void {
  out.push('"');
  let run = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x20 && c != 0x22 && c != 0x5c) continue;
    if (i > run) out.push(s.substring(run, i));
    run = i + 1;
    if (c == 0x22) out.push('\\"');
    else if (c == 0x5c) out.push("\\\\");
    else if (c == 0x0a) out.push("\\n");
    else if (c == 0x0d) out.push("\\r");
    else if (c == 0x09) out.push("\\t");
    else out.push("\\u00" + HEX.charAt(c >> 4) + HEX.charAt(c & 15));
  }
  if (run < s.length) out.push(s.substring(run));
  out.push('"');
}

class Reader {
  text: string;
  pos: i32 = 0;
  error: string = "";
  constructor(text: string) {
    this.text = text;
  }

  fail(what: string): Json | null {
    if (this.error.length == 0) this.error = "invalid JSON at character " + this.pos.toString() + ": " + what;
    return null;
  }

  document(): Json | null {
    const v = this.value(0);
    if (v === null) return null;
    this.space();
    if (this.pos != this.text.length) return this.fail("trailing characters");
    return v;
  }

  space(): void {
    while (this.pos < this.text.length) {
      const c = this.text.charCodeAt(this.pos);
      if (c != 0x20 && c != 0x09 && c != 0x0a && c != 0x0d) break;
      this.pos++;
    }
  }

  value(depth: i32): Json | null {
    if (depth > MAX_DEPTH) return this.fail("nested too deeply");
    this.space();
    if (this.pos >= this.text.length) return this.fail("unexpected end");
    const c = this.text.charCodeAt(this.pos);
    if (c == 0x7b) return this.container(depth, true);
    if (c == 0x5b) return this.container(depth, false);
    if (c == 0x22) {
      this.pos++;
      const s = this.string();
      return s === null ? null : Json.ofString(s);
    }
    if (this.text.startsWith("true", this.pos)) {
      this.pos += 4;
      return Json.ofBool(true);
    }
    if (this.text.startsWith("false", this.pos)) {
      this.pos += 5;
      return Json.ofBool(false);
    }
    if (this.text.startsWith("null", this.pos)) {
      this.pos += 4;
      return Json.ofNull();
    }
    return this.number();
  }

  container(depth: i32, isObject: bool): Json | null {
    const out = isObject ? Json.object() : Json.array();
    const close: i32 = isObject ? 0x7d : 0x5d;
    this.pos++;
    this.space();
    if (this.pos < this.text.length && this.text.charCodeAt(this.pos) == close) {
      this.pos++;
      return out;
    }
    while (true) {
      this.space();
      let key = "";
      if (isObject) {
        if (this.pos >= this.text.length || this.text.charCodeAt(this.pos) != 0x22) return this.fail("expected a string key");
        this.pos++;
        const k = this.string();
        if (k === null) return null;
        key = k;
        this.space();
        if (this.pos >= this.text.length || this.text.charCodeAt(this.pos) != 0x3a) return this.fail("expected ':'");
        this.pos++;
      }
      const item = this.value(depth + 1);
      if (item === null) return null;
      if (isObject) out.set(key, item);
      else out.push(item);
      this.space();
      if (this.pos < this.text.length && this.text.charCodeAt(this.pos) == 0x2c) {
        this.pos++;
        continue;
      }
      if (this.pos < this.text.length && this.text.charCodeAt(this.pos) == close) {
        this.pos++;
        return out;
      }
      return this.fail(isObject ? "expected ',' or '}'" : "expected ',' or ']'");
    }
  }

  /** A string after its opening quote. */
  string(): string | null {
    const parts = new Array<string>();
    let run = this.pos;
    while (this.pos < this.text.length) {
      const c = this.text.charCodeAt(this.pos);
      if (c == 0x22) {
        if (this.pos > run) parts.push(this.text.substring(run, this.pos));
        this.pos++;
        return parts.join("");
      }
      if (c < 0x20) {
        this.fail("control character in a string");
        return null;
      }
      if (c != 0x5c) {
        this.pos++;
        continue;
      }
      if (this.pos > run) parts.push(this.text.substring(run, this.pos));
      this.pos++;
      if (this.pos >= this.text.length) break;
      const e = this.text.charCodeAt(this.pos++);
      if (e == 0x22) parts.push('"');
      else if (e == 0x5c) parts.push("\\");
      else if (e == 0x2f) parts.push("/");
      else if (e == 0x62) parts.push("\b");
      else if (e == 0x66) parts.push("\f");
      else if (e == 0x6e) parts.push("\n");
      else if (e == 0x72) parts.push("\r");
      else if (e == 0x74) parts.push("\t");
      else if (e == 0x75) {
        // \uXXXX is one UTF-16 code unit: a surrogate pair is two escapes, kept as they are.
        if (this.pos + 4 > this.text.length) break;
        const hex = this.text.substring(this.pos, this.pos + 4);
        let unit: i32 = 0;
        for (let k = 0; k < 4; k++) {
          const d = HEX.indexOf(hex.charAt(k).toLowerCase());
          if (d < 0) {
            this.fail("bad \\u escape");
            return null;
          }
          unit = (unit << 4) | d;
        }
        this.pos += 4;
        parts.push(String.fromCharCode(unit));
      } else {
        this.fail("bad escape");
        return null;
      }
      run = this.pos;
    }
    this.fail("unterminated string");
    return null;
  }

  number(): Json | null {
    const start = this.pos;
    let isFloat = false;
    if (this.peek() == 0x2d) this.pos++;
    if (!isDigit(this.peek())) return this.fail("unexpected character");
    if (this.peek() == 0x30) this.pos++;
    else while (isDigit(this.peek())) this.pos++;
    if (this.peek() == 0x2e) {
      isFloat = true;
      this.pos++;
      if (!isDigit(this.peek())) return this.fail("bad fraction");
      while (isDigit(this.peek())) this.pos++;
    }
    if (this.peek() == 0x65 || this.peek() == 0x45) {
      isFloat = true;
      this.pos++;
      if (this.peek() == 0x2b || this.peek() == 0x2d) this.pos++;
      if (!isDigit(this.peek())) return this.fail("bad exponent");
      while (isDigit(this.peek())) this.pos++;
    }
    const text = this.text.substring(start, this.pos);
    if (!isFloat) {
      // Digits only: an i64 unless it overflows, then a float.
      const negative = text.charCodeAt(0) == 0x2d;
      let magnitude: u64 = 0;
      let overflow = false;
      for (let i = negative ? 1 : 0; i < text.length; i++) {
        const digit = <u64>(text.charCodeAt(i) - 0x30);
        if (magnitude > (u64.MAX_VALUE - digit) / 10) overflow = true;
        magnitude = magnitude * 10 + digit;
      }
      if (!overflow && !negative && magnitude <= <u64>i64.MAX_VALUE) return Json.ofInt(<i64>magnitude);
      if (!overflow && negative && magnitude <= <u64>i64.MAX_VALUE + 1) return Json.ofInt(<i64>(0 - magnitude));
    }
    return Json.ofFloat(parseFloat(text));
  }

  peek(): i32 {
    return this.pos < this.text.length ? this.text.charCodeAt(this.pos) : -1;
  }
}

function isDigit(c: i32): bool {
  return c >= 0x30 && c <= 0x39;
}
