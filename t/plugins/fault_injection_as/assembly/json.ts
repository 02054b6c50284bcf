// A small, strict JSON reader for the fault-injection configuration (AssemblyScript 0.14 has no JSON library).
//
// It follows RFC 8259 and what the Rust plugin's serde_json accepts for its `Config`: a top-level object with a
// required `http_status` (integer in u32), an optional `body` (string), an optional `percentage` (integer in
// u32, or null), unknown keys with any valid JSON value ignored, duplicate known keys refused, nothing but
// whitespace after the object. Strings are checked UTF-8; escapes \" \\ \/ \b \f \n \r \t and \uXXXX (with
// surrogate pairs) are decoded. Error messages use serde_json's wording, positions
// and "at line L column C" suffix (the text of a refused floating-point number is quoted as written).

export class Config {
  error: string | null = null;
  http_status: u32 = 0;
  body: ArrayBuffer = new ArrayBuffer(0);
  has_percentage: bool = false;
  percentage: u32 = 0;
}

// Kinds of values.
const K_NULL: i32 = 0;
const K_BOOL: i32 = 1;
const K_UINT: i32 = 2;   // non-negative integer that fits in u64
const K_NEG: i32 = 3;    // negative integer that fits in i64
const K_FLOAT: i32 = 4;  // anything else numeric
const K_STRING: i32 = 5;
const K_ERROR: i32 = -1;

function isDigit(c: i32): bool { return c >= 0x30 && c <= 0x39; }

function hexValue(c: i32): i32 {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  return -1;
}

// How many leading bytes are valid UTF-8 (no overlong forms, no surrogates, nothing beyond U+10FFFF).
function validUtf8Prefix(b: Array<u8>): i32 {
  let len = b.length;
  let i = 0;
  while (i < len) {
    let c = <i32>b[i];
    let n = 0;
    let min = 0;
    let cp = 0;
    if (c < 0x80) { i++; continue; }
    else if (c >= 0xc2 && c <= 0xdf) { n = 1; min = 0x80; cp = c & 0x1f; }
    else if (c >= 0xe0 && c <= 0xef) { n = 2; min = 0x800; cp = c & 0x0f; }
    else if (c >= 0xf0 && c <= 0xf4) { n = 3; min = 0x10000; cp = c & 0x07; }
    else return i;
    if (len - i <= n) return i;
    for (let k = 1; k <= n; k++) {
      let x = <i32>b[i + k];
      if ((x & 0xc0) != 0x80) return i;
      cp = (cp << 6) | (x & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += n + 1;
  }
  return len;
}

function bytesToBuffer(a: Array<u8>): ArrayBuffer {
  let out = new Uint8Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i];
  return out.buffer;
}

function bytesEqual(a: Array<u8>, s: string): bool {
  if (a.length != s.length) return false;
  for (let i = 0; i < a.length; i++) {
    if (<i32>a[i] != s.charCodeAt(i)) return false;
  }
  return true;
}

// A floating-point number as serde_json quotes it in an error, computed from its text (no floating-point
// library): the shortest digits (exact for up to 15 significant digits, else rounded to 17), in fixed notation
// (with ".0" when integral) for decimal exponents -5..=15, else as "d.ddde+N" / "d.ddde-N". Returns null when the
// number is beyond the range of a double (serde_json's "number out of range").
function floatText(s: Uint8Array, start: i32, end: i32): string | null {
  let i = start;
  let negative = s[i] == 0x2d;
  if (negative) i++;
  let digits = new Array<i32>();
  let exp10: i64 = 0; // value = digits × 10^exp10
  let roundUp = false;
  let dropped = false;
  let seenDot = false;
  for (; i < end && s[i] != 0x65 && s[i] != 0x45; i++) {
    let c = <i32>s[i];
    if (c == 0x2e) { seenDot = true; continue; }
    if (digits.length == 0 && c == 0x30) {
      if (seenDot) exp10--;
      continue;
    }
    if (digits.length < 17) {
      digits.push(c - 0x30);
      if (seenDot) exp10--;
    } else {
      // Beyond 17 significant digits: the first dropped digit rounds, the others only scale.
      if (!dropped) roundUp = c >= 0x35;
      dropped = true;
      if (!seenDot) exp10++;
    }
  }
  if (i < end) { // exponent
    i++;
    let expNegative = s[i] == 0x2d;
    if (s[i] == 0x2b || s[i] == 0x2d) i++;
    let x: i64 = 0;
    for (; i < end; i++) {
      if (x < 100000000) x = x * 10 + <i64>(s[i] - 0x30);
    }
    exp10 += expNegative ? -x : x;
  }
  let out = negative ? "-" : "";
  if (digits.length == 0) return out + "0.0";
  if (roundUp) {
    let k = digits.length;
    while (k > 0 && digits[k - 1] == 9) { k--; digits[k] = 0; }
    if (k == 0) {
      exp10 += digits.length; // 999… became 1000…: keep one digit
      digits = [1];
    } else {
      digits[k - 1]++;
    }
  }
  while (digits.length > 1 && digits[digits.length - 1] == 0) { digits.pop(); exp10++; }
  let n = digits.length;
  let e: i64 = exp10 + n - 1; // exponent of the leading digit
  if (e > 308) return null;
  if (e == 308) {
    let max = "17976931348623157";
    for (let k = 0; k < 17; k++) {
      let d = k < n ? digits[k] : 0;
      let m = max.charCodeAt(k) - 0x30;
      if (d != m) {
        if (d > m) return null;
        break;
      }
    }
  }
  if (e < -324) return out + "0.0";
  if (e >= -5 && e <= 15) {
    if (e < 0) {
      out += "0.";
      for (let k: i64 = -1; k > e; k--) out += "0";
      for (let k = 0; k < n; k++) out += digits[k].toString();
    } else {
      let whole = <i32>e + 1;
      for (let k = 0; k < whole; k++) out += k < n ? digits[k].toString() : "0";
      out += ".";
      if (n <= whole) out += "0";
      for (let k = whole; k < n; k++) out += digits[k].toString();
    }
    return out;
  }
  out += digits[0].toString();
  if (n > 1) {
    out += ".";
    for (let k = 1; k < n; k++) out += digits[k].toString();
  }
  return out + (e < 0 ? "e-" + (-e).toString() : "e+" + e.toString());
}

class Parser {
  s: Uint8Array;
  pos: i32 = 0;
  err: string | null = null;
  frames: Array<u8> = new Array<u8>(); // open [ and { of a skipped value
  // The last value read.
  str: Array<u8> = new Array<u8>();
  num_start: i32 = 0;
  num_text: string = "";
  uint_value: u64 = 0;
  bool_value: bool = false;

  constructor(s: Uint8Array) {
    this.s = s;
  }

  peek(): i32 {
    return this.pos < this.s.length ? <i32>this.s[this.pos] : -1;
  }

  skipWhitespace(): void {
    while (this.pos < this.s.length) {
      let c = <i32>this.s[this.pos];
      if (c != 0x20 && c != 0x09 && c != 0x0a && c != 0x0d) break;
      this.pos++;
    }
  }

  // Records the first error with serde_json's position: `atPeek` counts the byte just peeked (its peek_error),
  // otherwise the position is the number of bytes consumed (its error). Always returns false.
  // `back`: bytes to step back from the column (saturating), for serde's position of bad UTF-8.
  failWith(message: string, atPeek: bool, back: i32 = 0): bool {
    if (this.err == null) {
      let line = 1;
      let column = 0;
      let end = atPeek && this.pos < this.s.length ? this.pos + 1 : this.pos;
      for (let i = 0; i < end; i++) {
        if (this.s[i] == 0x0a) { line++; column = 0; } else { column++; }
      }
      column = column > back ? column - back : 0;
      this.err = message + " at line " + line.toString() + " column " + column.toString();
    }
    return false;
  }

  fail(message: string): bool { return this.failWith(message, true); }
  failHere(message: string): bool { return this.failWith(message, false); }

  literal(word: string): bool {
    for (let i = 0; i < word.length; i++) {
      let c = this.peek();
      if (c < 0) return this.fail("EOF while parsing a value");
      if (c != word.charCodeAt(i)) return this.fail("expected ident");
      this.pos++;
    }
    return true;
  }

  parseNumber(): i32 {
    let start = this.pos;
    let negative = false;
    let overflow = false;
    let value: u64 = 0;
    let isFloat = false;
    if (this.peek() == 0x2d) { negative = true; this.pos++; }
    let c = this.peek();
    if (c < 0) { this.fail("EOF while parsing a value"); return K_ERROR; }
    if (c == 0x30) {
      this.pos++;
      if (isDigit(this.peek())) { this.fail("invalid number"); return K_ERROR; }
    } else if (isDigit(c)) {
      while (isDigit(this.peek())) {
        let d = <u64>(this.peek() - 0x30);
        if (value > (U64.MAX_VALUE - d) / 10) overflow = true;
        value = value * 10 + d;
        this.pos++;
      }
    } else {
      this.fail("invalid number");
      return K_ERROR;
    }
    if (this.peek() == 0x2e) {
      isFloat = true;
      this.pos++;
      if (!isDigit(this.peek())) {
        this.fail(this.peek() < 0 ? "EOF while parsing a value" : "invalid number");
        return K_ERROR;
      }
      while (isDigit(this.peek())) this.pos++;
    }
    c = this.peek();
    if (c == 0x65 || c == 0x45) {
      isFloat = true;
      this.pos++;
      c = this.peek();
      if (c == 0x2b || c == 0x2d) this.pos++;
      if (!isDigit(this.peek())) {
        this.fail(this.peek() < 0 ? "EOF while parsing a value" : "invalid number");
        return K_ERROR;
      }
      while (isDigit(this.peek())) this.pos++;
    }
    let text = "";
    for (let i = start; i < this.pos; i++) text += String.fromCharCode(this.s[i]);
    this.num_start = start;
    this.num_text = text;
    this.uint_value = value;
    if (isFloat || overflow) return K_FLOAT;
    if (negative) {
      // Like serde_json: -0 and magnitudes beyond i64 are floating point.
      if (value == 0 || value > 0x8000000000000000) return K_FLOAT;
      return K_NEG;
    }
    return K_UINT;
  }

  // Four hex digits (all four are consumed before they are checked, as serde_json does); -1 on error.
  readHex4(): i32 {
    if (this.s.length - this.pos < 4) {
      this.pos = this.s.length;
      this.failHere("EOF while parsing a string");
      return -1;
    }
    let v = 0;
    let ok = true;
    for (let i = 0; i < 4; i++) {
      let h = hexValue(<i32>this.s[this.pos++]);
      if (h < 0) ok = false;
      v = v * 16 + h;
    }
    if (!ok) { this.failHere("invalid escape"); return -1; }
    return v;
  }

  pushCodePoint(cp: i32): void {
    let out = this.str;
    if (cp < 0x80) {
      out.push(<u8>cp);
    } else if (cp < 0x800) {
      out.push(<u8>(0xc0 | (cp >> 6)));
      out.push(<u8>(0x80 | (cp & 0x3f)));
    } else if (cp < 0x10000) {
      out.push(<u8>(0xe0 | (cp >> 12)));
      out.push(<u8>(0x80 | ((cp >> 6) & 0x3f)));
      out.push(<u8>(0x80 | (cp & 0x3f)));
    } else {
      out.push(<u8>(0xf0 | (cp >> 18)));
      out.push(<u8>(0x80 | ((cp >> 12) & 0x3f)));
      out.push(<u8>(0x80 | ((cp >> 6) & 0x3f)));
      out.push(<u8>(0x80 | (cp & 0x3f)));
    }
  }

  // \uXXXX (pos after the `u`), with surrogate pairs; serde_json's messages and positions.
  unicodeEscape(): bool {
    let cp = this.readHex4();
    if (cp < 0) return false;
    if (cp >= 0xdc00 && cp <= 0xdfff) return this.failHere("lone leading surrogate in hex escape");
    if (cp >= 0xd800 && cp <= 0xdbff) {
      for (let i = 0; i < 2; i++) {
        if (this.peek() < 0) return this.failHere("EOF while parsing a string");
        let expected = this.peek() == (i == 0 ? 0x5c : 0x75);
        this.pos++;
        if (!expected) return this.failHere("unexpected end of hex escape");
      }
      let low = this.readHex4();
      if (low < 0) return false;
      if (low < 0xdc00 || low > 0xdfff) return this.failHere("lone leading surrogate in hex escape");
      cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
    }
    this.pushCodePoint(cp);
    return true;
  }

  // A string (pos at its opening quote); its decoded bytes are left in str.
  parseString(): bool {
    this.pos++;
    this.str = new Array<u8>();
    while (true) {
      let c = this.peek();
      if (c < 0) return this.fail("EOF while parsing a string");
      if (c == 0x22) {
        // Like serde_json, the string is checked as UTF-8 once it is complete.
        this.pos++;
        let valid = validUtf8Prefix(this.str);
        if (valid == this.str.length) return true;
        return this.failWith("invalid unicode code point", false, this.str.length - valid);
      }
      if (c < 0x20) return this.fail("control character (\\u0000-\\u001F) found while parsing a string");
      this.pos++;
      if (c != 0x5c) { this.str.push(<u8>c); continue; }
      let e = this.peek();
      if (e < 0) return this.fail("EOF while parsing a string");
      this.pos++;
      if (e == 0x22 || e == 0x5c || e == 0x2f) this.str.push(<u8>e);
      else if (e == 0x62) this.str.push(0x08);
      else if (e == 0x66) this.str.push(0x0c);
      else if (e == 0x6e) this.str.push(0x0a);
      else if (e == 0x72) this.str.push(0x0d);
      else if (e == 0x74) this.str.push(0x09);
      else if (e == 0x75) { if (!this.unicodeEscape()) return false; }
      else return this.failHere("invalid escape");
    }
    return false;
  }

  // A string inside a skipped value: like serde_json's IgnoredAny, escapes are checked but not decoded, and the
  // bytes are not checked as UTF-8.
  skipString(): bool {
    this.pos++;
    while (true) {
      let c = this.peek();
      if (c < 0) return this.failHere("EOF while parsing a string");
      if (c == 0x22) { this.pos++; return true; }
      if (c < 0x20) return this.failHere("control character (\\u0000-\\u001F) found while parsing a string");
      this.pos++;
      if (c != 0x5c) continue;
      let e = this.peek();
      if (e < 0) return this.failHere("EOF while parsing a string");
      this.pos++;
      if (e == 0x75) {
        if (this.readHex4() < 0) return false;
      } else if (!(e == 0x22 || e == 0x5c || e == 0x2f || e == 0x62 || e == 0x66 || e == 0x6e || e == 0x72 || e == 0x74)) {
        return this.failHere("invalid escape");
      }
    }
    return false;
  }

  // A scalar where a field's value is read: like serde_json, a number beyond the double range is refused.
  parseFieldScalar(): i32 {
    let start = this.pos;
    let kind = this.parseScalar();
    if (kind == K_FLOAT && floatText(this.s, start, this.pos) == null) {
      this.failHere("number out of range");
      return K_ERROR;
    }
    return kind;
  }

  // A scalar value (string, number, true, false, null) at pos, after whitespace.
  parseScalar(): i32 {
    let c = this.peek();
    if (c < 0) { this.fail("EOF while parsing a value"); return K_ERROR; }
    if (c == 0x22) return this.parseString() ? K_STRING : K_ERROR;
    if (c == 0x74) { this.bool_value = true; return this.literal("true") ? K_BOOL : K_ERROR; }
    if (c == 0x66) { this.bool_value = false; return this.literal("false") ? K_BOOL : K_ERROR; }
    if (c == 0x6e) return this.literal("null") ? K_NULL : K_ERROR;
    if (c == 0x2d || isDigit(c)) return this.parseNumber();
    this.fail("expected value");
    return K_ERROR;
  }

  // Reads `"key" :` inside a skipped object (pos at the key, after whitespace).
  skippedKey(): bool {
    let c = this.peek();
    if (c < 0) return this.fail("EOF while parsing an object");
    if (c != 0x22) return this.fail("key must be a string");
    if (!this.skipString()) return false;
    this.skipWhitespace();
    c = this.peek();
    if (c < 0) return this.fail("EOF while parsing an object");
    if (c != 0x3a) return this.fail("expected `:`");
    this.pos++;
    return true;
  }

  // Checks and skips any value, iteratively (no depth limit, like serde_json's IgnoredAny).
  skipValue(): bool {
    this.frames = new Array<u8>();
    while (true) {
      // A value starts here.
      this.skipWhitespace();
      let c = this.peek();
      let done = true;
      if (c == 0x5b || c == 0x7b) {
        this.pos++;
        this.skipWhitespace();
        if (this.peek() == (c == 0x5b ? 0x5d : 0x7d)) {
          this.pos++;
        } else {
          this.frames.push(<u8>c);
          if (c == 0x7b && !this.skippedKey()) return false;
          done = false;
        }
      } else if (c == 0x22) {
        if (!this.skipString()) return false;
      } else if (this.parseScalar() == K_ERROR) {
        return false;
      }
      // After a value: close frames until a comma asks for the next value.
      while (done) {
        if (this.frames.length == 0) return true;
        let frame = <i32>this.frames[this.frames.length - 1];
        this.skipWhitespace();
        c = this.peek();
        if (c == 0x2c) {
          this.pos++;
          if (frame == 0x7b) {
            this.skipWhitespace();
            if (!this.skippedKey()) return false;
          }
          done = false;
        } else if (c == (frame == 0x5b ? 0x5d : 0x7d)) {
          this.pos++;
          this.frames.pop();
        } else if (c < 0) {
          return this.fail(frame == 0x5b ? "EOF while parsing a list" : "EOF while parsing an object");
        } else {
          return this.fail(frame == 0x5b ? "expected `,` or `]`" : "expected `,` or `}`");
        }
      }
    }
    return false;
  }

  // serde's description of an unexpected scalar.
  describe(kind: i32): string {
    if (kind == K_NULL) return "null";
    if (kind == K_BOOL) return "boolean `" + (this.bool_value ? "true" : "false") + "`";
    if (kind == K_FLOAT) {
      let text = floatText(this.s, this.num_start, this.pos);
      return "floating point `" + (text == null ? this.num_text : text as string) + "`";
    }
    if (kind == K_STRING) return "string \"" + String.UTF8.decode(bytesToBuffer(this.str)) + "\"";
    return "integer `" + this.num_text + "`";
  }

  failType(what: string, kind: i32, expected: string): bool {
    return this.failHere(what + this.describe(kind) + ", expected " + expected);
  }

  isCompound(): bool {
    return this.peek() == 0x5b || this.peek() == 0x7b;
  }

  // A sequence or map where a scalar is expected: refused at its first byte, unread (as serde_json does).
  failCompound(expected: string): bool {
    return this.failHere("invalid type: " + (this.peek() == 0x5b ? "sequence" : "map") + ", expected " + expected);
  }

  // A u32 value; returns -1 on error, else the value.
  parseU32(): i64 {
    if (this.isCompound()) { this.failCompound("u32"); return -1; }
    let kind = this.parseFieldScalar();
    if (kind == K_ERROR) return -1;
    if (kind == K_UINT && this.uint_value <= <u64>U32.MAX_VALUE) return <i64>this.uint_value;
    this.failType(kind == K_UINT || kind == K_NEG ? "invalid value: " : "invalid type: ", kind, "u32");
    return -1;
  }

  parseBody(config: Config): bool {
    if (this.isCompound()) return this.failCompound("a string");
    let kind = this.parseFieldScalar();
    if (kind == K_ERROR) return false;
    if (kind != K_STRING) return this.failType("invalid type: ", kind, "a string");
    config.body = bytesToBuffer(this.str);
    return true;
  }

  // `null` or a u32.
  parsePercentage(config: Config): bool {
    if (this.peek() == 0x6e) return this.literal("null");
    let v = this.parseU32();
    if (v < 0) return false;
    config.has_percentage = true;
    config.percentage = <u32>v;
    return true;
  }

  // Before the next element of a sequence: 1 when one follows, 0 at `]` (not consumed), -1 on error.
  seqNext(first: bool): i32 {
    this.skipWhitespace();
    let c = this.peek();
    if (c == 0x5d) return 0;
    if (c < 0) { this.fail("EOF while parsing a list"); return -1; }
    if (!first) {
      if (c != 0x2c) { this.fail("expected `,` or `]`"); return -1; }
      this.pos++;
      this.skipWhitespace();
      if (this.peek() == 0x5d) { this.fail("trailing comma"); return -1; }
      if (this.peek() < 0) { this.fail("EOF while parsing a value"); return -1; }
    }
    return 1;
  }

  // serde's other form of a struct: `[http_status, body, percentage]`, all three present (body may be left out
  // only when the sequence ends, and then the missing percentage is refused anyway).
  parseConfigSequence(config: Config): bool {
    this.pos++;
    let count = 0;
    let next = this.seqNext(true);
    if (next > 0) {
      let v = this.parseU32();
      if (v < 0) return false;
      config.http_status = <u32>v;
      count = 1;
      next = this.seqNext(false);
    }
    if (next > 0) {
      if (!this.parseBody(config)) return false;
      next = this.seqNext(false);
    }
    if (next > 0) {
      if (!this.parsePercentage(config)) return false;
      count = 3;
    }
    if (next < 0) return false;
    // The end of the sequence.
    this.skipWhitespace();
    let c = this.peek();
    if (c == 0x5d) {
      this.pos++;
    } else if (c == 0x2c) {
      this.pos++;
      this.skipWhitespace();
      if (count == 3) return this.fail(this.peek() == 0x5d ? "trailing comma" : "trailing characters");
    } else if (count == 3) {
      return this.fail(c < 0 ? "EOF while parsing a list" : "trailing characters");
    }
    if (count < 3) {
      return this.failHere("invalid length " + (count == 0 ? "0" : "2") + ", expected struct Config with 3 elements");
    }
    this.skipWhitespace();
    if (this.peek() >= 0) return this.fail("trailing characters");
    return true;
  }

  parseConfig(config: Config): bool {
    this.skipWhitespace();
    let c = this.peek();
    if (c < 0) return this.fail("EOF while parsing a value");
    if (c == 0x5b) return this.parseConfigSequence(config);
    if (c != 0x7b) {
      let kind = this.parseFieldScalar();
      if (kind == K_ERROR) return false;
      return this.failType("invalid type: ", kind, "struct Config");
    }
    this.pos++;
    let seen = new Array<bool>(4);
    this.skipWhitespace();
    if (this.peek() == 0x7d) {
      this.pos++;
    } else {
      while (true) {
        this.skipWhitespace();
        c = this.peek();
        if (c < 0) return this.fail("EOF while parsing an object");
        if (c != 0x22) return this.fail("key must be a string");
        if (!this.parseString()) return false;
        let field = bytesEqual(this.str, "http_status") ? 1 : bytesEqual(this.str, "body") ? 2 : bytesEqual(this.str, "percentage") ? 3 : 0;
        if (field != 0) {
          if (seen[field]) {
            let name = field == 1 ? "http_status" : field == 2 ? "body" : "percentage";
            return this.failHere("duplicate field `" + name + "`");
          }
          seen[field] = true;
        }
        this.skipWhitespace();
        c = this.peek();
        if (c < 0) return this.fail("EOF while parsing an object");
        if (c != 0x3a) return this.fail("expected `:`");
        this.pos++;
        this.skipWhitespace();
        if (field == 1) {
          let v = this.parseU32();
          if (v < 0) return false;
          config.http_status = <u32>v;
        } else if (field == 2) {
          if (!this.parseBody(config)) return false;
        } else if (field == 3) {
          if (!this.parsePercentage(config)) return false;
        } else if (!this.skipValue()) {
          return false;
        }
        this.skipWhitespace();
        c = this.peek();
        if (c == 0x7d) { this.pos++; break; }
        if (c < 0) return this.fail("EOF while parsing an object");
        if (c != 0x2c) return this.fail("expected `,` or `}`");
        this.pos++;
        this.skipWhitespace();
        if (this.peek() == 0x7d) return this.fail("trailing comma");
      }
    }
    if (!seen[1]) return this.failHere("missing field `http_status`");
    this.skipWhitespace();
    if (this.peek() >= 0) return this.fail("trailing characters");
    return true;
  }
}

export function parseConfig(raw: Uint8Array): Config {
  let config = new Config();
  let parser = new Parser(raw);
  if (!parser.parseConfig(config)) config.error = parser.err;
  return config;
}
