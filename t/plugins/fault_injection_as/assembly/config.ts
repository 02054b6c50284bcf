// The fault-injection configuration, read from JSON with assemblyscript-json 0.3.3 (its JSONHandler events).
//
// `{"http_status": 403, "body": "...", "percentage": 50}`, as the Rust plugin's `Config` reads it with serde:
// `http_status` is required and `percentage` optional (null or absent), both unsigned 32-bit integers; `body` is an
// optional string; other keys are ignored; a known key given twice, malformed JSON or anything after the object
// is refused. The ranges (`http_status` >= 200, `percentage` 1..=100) are checked by the plugin (index.ts).
//
// assemblyscript-json reports what it cannot read by `assert`, which ends in `abort`: the instance would trap
// instead of refusing the configuration. So `prepare` goes over the input first (RFC 8259: grammar, UTF-8, no
// control character or lone surrogate in strings, at most 128 levels of nesting) and gives the library a copy
// it reads without failing: whitespace dropped, `\f` (which it does not know) written `\u000c`, and each number
// that is not a non-negative integer of at most 18 digits (it has no floats, and would overflow i64 past that)
// written `[]`: no field of the configuration takes that number nor an array, and unknown keys ignore both.

import { JSONDecoder, JSONHandler } from "assemblyscript-json";

export class Config {
  error: string | null = null;
  http_status: u32 = 0;
  body: ArrayBuffer = new ArrayBuffer(0);
  has_percentage: bool = false;
  percentage: u32 = 0;
}

const MAX_DEPTH = 128;
const MAX_DIGITS = 18;

class Prepared {
  text: Uint8Array = new Uint8Array(0);
  error: string | null = null;
}

class Preparer {
  at: i32 = 0;
  out: Array<u8> = new Array<u8>();
  constructor(public input: Uint8Array) {}

  peek(): i32 {
    return this.at < this.input.length ? <i32>this.input[this.at] : -1;
  }

  emit(c: i32): void {
    this.out.push(<u8>c);
  }

  emitAscii(s: string): void {
    for (let i = 0; i < s.length; i++) this.emit(s.charCodeAt(i));
  }

  space(): void {
    let c = this.peek();
    while (c == 0x20 || c == 0x09 || c == 0x0a || c == 0x0d) {
      this.at++;
      c = this.peek();
    }
  }

  // Reads the character c (after whitespace) and copies it.
  punct(c: i32): bool {
    this.space();
    if (this.peek() != c) return false;
    this.at++;
    this.emit(c);
    return true;
  }

  value(depth: i32): bool {
    this.space();
    let c = this.peek();
    if (c == 0x7b /* { */ || c == 0x5b /* [ */) return this.container(c == 0x7b, depth + 1);
    if (c == 0x22 /* " */) return this.string();
    if (c == 0x74 /* t */) return this.literal("true");
    if (c == 0x66 /* f */) return this.literal("false");
    if (c == 0x6e /* n */) return this.literal("null");
    return this.number();
  }

  container(object: bool, depth: i32): bool {
    if (depth > MAX_DEPTH) return false;
    let close = object ? 0x7d : 0x5d;
    this.punct(object ? 0x7b : 0x5b);
    this.space();
    if (this.punct(close)) return true;
    do {
      if (object && !(this.string() && this.punct(0x3a /* : */))) return false;
      if (!this.value(depth)) return false;
    } while (this.punct(0x2c /* , */));
    return this.punct(close);
  }

  literal(word: string): bool {
    for (let i = 0; i < word.length; i++) {
      if (this.peek() != word.charCodeAt(i)) return false;
      this.at++;
    }
    this.emitAscii(word);
    return true;
  }

  digits(): i32 {
    let n = 0;
    while (this.peek() >= 0x30 && this.peek() <= 0x39) {
      this.at++;
      n++;
    }
    return n;
  }

  number(): bool {
    let start = this.at;
    let negative = this.peek() == 0x2d; /* - */
    if (negative) this.at++;
    let first = this.peek();
    let n = this.digits();
    if (n == 0 || (first == 0x30 && n > 1)) return false;
    let integer = !negative && n <= MAX_DIGITS;
    if (this.peek() == 0x2e /* . */) {
      this.at++;
      integer = false;
      if (this.digits() == 0) return false;
    }
    if (this.peek() == 0x65 || this.peek() == 0x45 /* e E */) {
      this.at++;
      integer = false;
      if (this.peek() == 0x2b || this.peek() == 0x2d /* + - */) this.at++;
      if (this.digits() == 0) return false;
    }
    if (integer) {
      for (let i = start; i < this.at; i++) this.emit(this.input[i]);
    } else {
      this.emitAscii("[]");
    }
    return true;
  }

  hex4(): i32 {
    let v = 0;
    for (let i = 0; i < 4; i++) {
      let c = this.peek();
      let d = c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 0x57 : c >= 0x41 && c <= 0x46 ? c - 0x37 : -1;
      if (d < 0) return -1;
      v = (v << 4) | d;
      this.at++;
    }
    return v;
  }

  // A well-formed UTF-8 sequence, copied.
  utf8(): bool {
    let c = this.peek();
    let len = 0;
    let cp = 0;
    let min = 0;
    if (c >= 0xc2 && c <= 0xdf) { len = 2; cp = c & 0x1f; min = 0x80; }
    else if ((c & 0xf0) == 0xe0) { len = 3; cp = c & 0x0f; min = 0x800; }
    else if (c >= 0xf0 && c <= 0xf4) { len = 4; cp = c & 0x07; min = 0x10000; }
    else return false;
    if (this.at + len > this.input.length) return false;
    for (let i = 1; i < len; i++) {
      let b = <i32>this.input[this.at + i];
      if ((b & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (b & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    for (let i = 0; i < len; i++) this.emit(this.input[this.at + i]);
    this.at += len;
    return true;
  }

  string(): bool {
    this.space();
    if (this.peek() != 0x22) return false;
    this.at++;
    this.emit(0x22);
    for (;;) {
      let c = this.peek();
      if (c < 0x20) return false; // a control character, or the end of the input
      if (c == 0x22) break;
      if (c >= 0x80) {
        if (!this.utf8()) return false;
        continue;
      }
      this.at++;
      if (c != 0x5c /* \ */) {
        this.emit(c);
        continue;
      }
      let e = this.peek();
      this.at++;
      if (e == 0x66 /* f */) {
        this.emitAscii("\\u000c");
      } else if (e == 0x75 /* u */) {
        let hi = this.hex4();
        if (hi < 0 || (hi >= 0xdc00 && hi <= 0xdfff)) return false;
        let pair = hi >= 0xd800 && hi <= 0xdbff;
        if (pair) {
          if (this.peek() != 0x5c) return false;
          this.at++;
          if (this.peek() != 0x75) return false;
          this.at++;
          let lo = this.hex4();
          if (lo < 0xdc00 || lo > 0xdfff) return false;
        }
        for (let i = this.at - (pair ? 12 : 6); i < this.at; i++) this.emit(this.input[i]);
      } else if (e == 0x22 || e == 0x5c || e == 0x2f || e == 0x62 || e == 0x6e || e == 0x72 || e == 0x74) {
        this.emit(0x5c);
        this.emit(e);
      } else {
        return false;
      }
    }
    this.at++;
    this.emit(0x22);
    return true;
  }
}

function prepare(input: Uint8Array): Prepared {
  let result = new Prepared();
  let p = new Preparer(input);
  p.space();
  if (p.peek() != 0x7b) {
    result.error = "not a JSON object";
    return result;
  }
  if (!p.value(0)) {
    result.error = "not valid JSON";
    return result;
  }
  p.space();
  if (p.at != input.length) {
    result.error = "trailing characters after the object";
    return result;
  }
  let text = new Uint8Array(p.out.length);
  for (let i = 0; i < p.out.length; i++) text[i] = p.out[i];
  result.text = text;
  return result;
}

// The library's events for the top-level object's members (depth 1); deeper values belong to unknown keys.
class ConfigHandler extends JSONHandler {
  config: Config = new Config();
  depth: i32 = 0;
  seen_status: bool = false;
  seen_body: bool = false;
  seen_percentage: bool = false;

  fail(message: string): void {
    if (this.config.error == null) this.config.error = message;
  }

  // Whether `name` is a known key at the top level, and not seen before (a second one is refused).
  field(name: string): bool {
    if (this.depth != 1) return false;
    let seen = false;
    if (name == "http_status") { seen = this.seen_status; this.seen_status = true; }
    else if (name == "body") { seen = this.seen_body; this.seen_body = true; }
    else if (name == "percentage") { seen = this.seen_percentage; this.seen_percentage = true; }
    else return false;
    if (seen) this.fail(name + " given twice");
    return !seen;
  }

  wrongType(name: string): void {
    if (name == "body") this.fail("body must be a string");
    else if (name == "percentage") this.fail("percentage must be an unsigned 32-bit integer or null");
    else this.fail("http_status must be an unsigned 32-bit integer");
  }

  setString(name: string, value: string): void {
    if (!this.field(name)) return;
    if (name == "body") this.config.body = String.UTF8.encode(value);
    else this.wrongType(name);
  }

  setInteger(name: string, value: i64): void {
    if (!this.field(name)) return;
    if (name == "body" || value < 0 || value > <i64>u32.MAX_VALUE) {
      this.wrongType(name);
    } else if (name == "http_status") {
      this.config.http_status = <u32>value;
    } else {
      this.config.has_percentage = true;
      this.config.percentage = <u32>value;
    }
  }

  setBoolean(name: string, value: bool): void {
    if (this.field(name)) this.wrongType(name);
  }

  setNull(name: string): void {
    if (this.field(name) && name != "percentage") this.wrongType(name);
  }

  pushArray(name: string): bool {
    if (this.field(name)) this.wrongType(name);
    this.depth++;
    return true;
  }

  popArray(): void {
    this.depth--;
  }

  pushObject(name: string): bool {
    if (this.field(name)) this.wrongType(name);
    this.depth++;
    return true;
  }

  popObject(): void {
    this.depth--;
  }
}

export function parseConfig(input: Uint8Array): Config {
  let prepared = prepare(input);
  if (prepared.error != null) {
    let config = new Config();
    config.error = prepared.error;
    return config;
  }
  let handler = new ConfigHandler();
  new JSONDecoder<ConfigHandler>(handler).deserialize(prepared.text);
  if (handler.config.error == null && !handler.seen_status) handler.config.error = "missing http_status";
  return handler.config;
}
