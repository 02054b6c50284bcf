/* The strict configuration reader described in json.h. */

#include "json.h"

#include <stdlib.h>
#include <string.h>


enum kind { K_ERROR = -1, K_NULL, K_BOOL, K_UINT, K_NEG, K_FLOAT, K_STRING };

struct bytes {
    uint8_t *data;
    size_t len, cap;
    bool oom;
};

struct parser {
    const uint8_t *s;
    size_t len, pos;
    char *error;
    size_t error_size;
    bool failed;
    struct bytes frames; /* open [ and { of a skipped value */
    /* The last value read. */
    struct bytes str;
    size_t num_start, num_end;
    uint64_t uint_value;
    bool bool_value;
};

static void push(struct bytes *b, uint8_t c) {
    if (b->len == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 64;
        uint8_t *data = realloc(b->data, cap);
        if (!data) {
            b->oom = true;
            return;
        }
        b->data = data;
        b->cap = cap;
    }
    b->data[b->len++] = c;
}

static int peek(const struct parser *p) {
    return p->pos < p->len ? p->s[p->pos] : -1;
}

static bool is_digit(int c) {
    return c >= '0' && c <= '9';
}

static void skip_whitespace(struct parser *p) {
    while (p->pos < p->len) {
        uint8_t c = p->s[p->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
        p->pos++;
    }
}

/* Appends to the error message (truncating). */
static void err_add(struct parser *p, const char *s, size_t n) {
    size_t used = strlen(p->error);
    size_t room = p->error_size - 1 - used;
    if (n > room) n = room;
    memcpy(p->error + used, s, n);
    p->error[used + n] = 0;
}

static void err_str(struct parser *p, const char *s) {
    err_add(p, s, strlen(s));
}

static void err_u64(struct parser *p, uint64_t v) {
    char digits[20];
    size_t n = 0;
    do {
        digits[sizeof digits - ++n] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    err_add(p, digits + sizeof digits - n, n);
}

/* Starts the error message (the first error wins); finish it with fail_end. Returns false. */
static bool fail_begin(struct parser *p) {
    if (p->failed) return false;
    p->failed = true;
    p->error[0] = 0;
    return true;
}

/* serde_json's positions: `at_peek` counts the byte just peeked (its peek_error), otherwise the position is
 * the number of bytes consumed (its error). */
static bool fail_end_back(struct parser *p, bool at_peek, size_t back);

static bool fail_end(struct parser *p, bool at_peek) {
    return fail_end_back(p, at_peek, 0);
}

/* `back`: bytes to step back from the column (saturating), for serde's position of bad UTF-8. */
static bool fail_end_back(struct parser *p, bool at_peek, size_t back) {
    uint64_t line = 1, column = 0;
    size_t end = at_peek && p->pos < p->len ? p->pos + 1 : p->pos;
    for (size_t i = 0; i < end; i++) {
        if (p->s[i] == '\n') {
            line++;
            column = 0;
        } else {
            column++;
        }
    }
    column = column > back ? column - back : 0;
    err_str(p, " at line ");
    err_u64(p, line);
    err_str(p, " column ");
    err_u64(p, column);
    return false;
}

static bool fail(struct parser *p, const char *message) {
    if (!fail_begin(p)) return false;
    err_str(p, message);
    return fail_end(p, true);
}

static bool fail_here(struct parser *p, const char *message) {
    if (!fail_begin(p)) return false;
    err_str(p, message);
    return fail_end(p, false);
}

static bool parse_string(struct parser *p);

static bool literal(struct parser *p, const char *word) {
    for (; *word; word++) {
        int c = peek(p);
        if (c < 0) return fail(p, "EOF while parsing a value");
        if (c != *word) return fail(p, "expected ident");
        p->pos++;
    }
    return true;
}

static enum kind parse_number(struct parser *p) {
    size_t start = p->pos;
    bool negative = false, overflow = false, is_float = false;
    uint64_t value = 0;
    if (peek(p) == '-') {
        negative = true;
        p->pos++;
    }
    int c = peek(p);
    if (c < 0) return fail(p, "EOF while parsing a value"), K_ERROR;
    if (c == '0') {
        p->pos++;
        if (is_digit(peek(p))) return fail(p, "invalid number"), K_ERROR;
    } else if (is_digit(c)) {
        while (is_digit(peek(p))) {
            uint64_t d = (uint64_t)(peek(p) - '0');
            if (value > (UINT64_MAX - d) / 10) overflow = true;
            value = value * 10 + d;
            p->pos++;
        }
    } else {
        return fail(p, "invalid number"), K_ERROR;
    }
    if (peek(p) == '.') {
        is_float = true;
        p->pos++;
        if (!is_digit(peek(p))) {
            return fail(p, peek(p) < 0 ? "EOF while parsing a value" : "invalid number"), K_ERROR;
        }
        while (is_digit(peek(p))) p->pos++;
    }
    c = peek(p);
    if (c == 'e' || c == 'E') {
        is_float = true;
        p->pos++;
        c = peek(p);
        if (c == '+' || c == '-') p->pos++;
        if (!is_digit(peek(p))) {
            return fail(p, peek(p) < 0 ? "EOF while parsing a value" : "invalid number"), K_ERROR;
        }
        while (is_digit(peek(p))) p->pos++;
    }
    p->num_start = start;
    p->num_end = p->pos;
    p->uint_value = value;
    if (is_float || overflow) return K_FLOAT;
    if (negative) {
        /* Like serde_json: -0 and magnitudes beyond i64 are floating point. */
        if (value == 0 || value > (uint64_t)1 << 63) return K_FLOAT;
        return K_NEG;
    }
    return K_UINT;
}

static int hex_value(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Four hex digits (all four are consumed before they are checked, as serde_json does); -1 on error. */
static int32_t read_hex4(struct parser *p) {
    if (p->len - p->pos < 4) {
        p->pos = p->len;
        return fail_here(p, "EOF while parsing a string"), -1;
    }
    int32_t v = 0;
    bool ok = true;
    for (int i = 0; i < 4; i++) {
        int h = hex_value(p->s[p->pos++]);
        if (h < 0) ok = false;
        v = v * 16 + h;
    }
    if (!ok) return fail_here(p, "invalid escape"), -1;
    return v;
}

static void push_code_point(struct bytes *b, uint32_t cp) {
    if (cp < 0x80) {
        push(b, (uint8_t)cp);
    } else if (cp < 0x800) {
        push(b, (uint8_t)(0xc0 | (cp >> 6)));
        push(b, (uint8_t)(0x80 | (cp & 0x3f)));
    } else if (cp < 0x10000) {
        push(b, (uint8_t)(0xe0 | (cp >> 12)));
        push(b, (uint8_t)(0x80 | ((cp >> 6) & 0x3f)));
        push(b, (uint8_t)(0x80 | (cp & 0x3f)));
    } else {
        push(b, (uint8_t)(0xf0 | (cp >> 18)));
        push(b, (uint8_t)(0x80 | ((cp >> 12) & 0x3f)));
        push(b, (uint8_t)(0x80 | ((cp >> 6) & 0x3f)));
        push(b, (uint8_t)(0x80 | (cp & 0x3f)));
    }
}

/* How many leading bytes are valid UTF-8 (no overlong forms, no surrogates, nothing beyond U+10FFFF). */
static size_t valid_utf8_prefix(const uint8_t *b, size_t len) {
    for (size_t i = 0; i < len;) {
        uint8_t c = b[i];
        size_t n;
        uint32_t min, cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xc2 && c <= 0xdf) {
            n = 1, min = 0x80, cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            n = 2, min = 0x800, cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            n = 3, min = 0x10000, cp = c & 0x07;
        } else {
            return i;
        }
        if (len - i <= n) return i;
        for (size_t k = 1; k <= n; k++) {
            if ((b[i + k] & 0xc0) != 0x80) return i;
            cp = (cp << 6) | (b[i + k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
        i += n + 1;
    }
    return len;
}

/* \uXXXX (pos after the `u`), with surrogate pairs; serde_json's messages and positions. */
static bool unicode_escape(struct parser *p) {
    int32_t cp = read_hex4(p);
    if (cp < 0) return false;
    if (cp >= 0xdc00 && cp <= 0xdfff) return fail_here(p, "lone leading surrogate in hex escape");
    if (cp >= 0xd800 && cp <= 0xdbff) {
        for (const char *next = "\\u"; *next; next++) {
            if (peek(p) < 0) return fail_here(p, "EOF while parsing a string");
            bool expected = peek(p) == *next;
            p->pos++;
            if (!expected) return fail_here(p, "unexpected end of hex escape");
        }
        int32_t low = read_hex4(p);
        if (low < 0) return false;
        if (low < 0xdc00 || low > 0xdfff) return fail_here(p, "lone leading surrogate in hex escape");
        cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
    }
    push_code_point(&p->str, (uint32_t)cp);
    return true;
}

/* A string (pos at its opening quote); its decoded bytes are left in str. */
static bool parse_string(struct parser *p) {
    p->pos++;
    p->str.len = 0;
    for (;;) {
        if (p->str.oom) return fail(p, "out of memory");
        int c = peek(p);
        if (c < 0) return fail(p, "EOF while parsing a string");
        if (c == '"') {
            /* Like serde_json, the string is checked as UTF-8 once it is complete. */
            p->pos++;
            if (p->str.oom) return fail(p, "out of memory");
            size_t valid = valid_utf8_prefix(p->str.data, p->str.len);
            if (valid == p->str.len) return true;
            fail_begin(p);
            err_str(p, "invalid unicode code point");
            return fail_end_back(p, false, p->str.len - valid);
        }
        if (c < 0x20) return fail(p, "control character (\\u0000-\\u001F) found while parsing a string");
        p->pos++;
        if (c != '\\') {
            push(&p->str, (uint8_t)c);
            continue;
        }
        int e = peek(p);
        if (e < 0) return fail(p, "EOF while parsing a string");
        p->pos++;
        switch (e) {
        case '"': case '\\': case '/': push(&p->str, (uint8_t)e); break;
        case 'b': push(&p->str, '\b'); break;
        case 'f': push(&p->str, '\f'); break;
        case 'n': push(&p->str, '\n'); break;
        case 'r': push(&p->str, '\r'); break;
        case 't': push(&p->str, '\t'); break;
        case 'u':
            if (!unicode_escape(p)) return false;
            break;
        default:
            return fail_here(p, "invalid escape");
        }
    }
}

/* A scalar value (string, number, true, false, null) at pos, after whitespace. */
static enum kind parse_scalar(struct parser *p) {
    int c = peek(p);
    if (c < 0) return fail(p, "EOF while parsing a value"), K_ERROR;
    if (c == '"') return parse_string(p) ? K_STRING : K_ERROR;
    if (c == 't') {
        p->bool_value = true;
        return literal(p, "true") ? K_BOOL : K_ERROR;
    }
    if (c == 'f') {
        p->bool_value = false;
        return literal(p, "false") ? K_BOOL : K_ERROR;
    }
    if (c == 'n') return literal(p, "null") ? K_NULL : K_ERROR;
    if (c == '-' || is_digit(c)) return parse_number(p);
    return fail(p, "expected value"), K_ERROR;
}

/* A string inside a skipped value: like serde_json's IgnoredAny, escapes are checked but not decoded, and the
 * bytes are not checked as UTF-8. */
static bool skip_string(struct parser *p) {
    p->pos++;
    for (;;) {
        int c = peek(p);
        if (c < 0) return fail_here(p, "EOF while parsing a string");
        p->pos++;
        if (c == '"') return true;
        if (c < 0x20) {
            p->pos--;
            return fail_here(p, "control character (\\u0000-\\u001F) found while parsing a string");
        }
        if (c != '\\') continue;
        int e = peek(p);
        if (e < 0) return fail_here(p, "EOF while parsing a string");
        p->pos++;
        if (e == 'u') {
            if (read_hex4(p) < 0) return false;
        } else if (e == 0 || !strchr("\"\\/bfnrt", e)) {
            return fail_here(p, "invalid escape");
        }
    }
}

/* Reads `"key" :` inside a skipped object (pos at the key, after whitespace). */
static bool skipped_key(struct parser *p) {
    int c = peek(p);
    if (c < 0) return fail(p, "EOF while parsing an object");
    if (c != '"') return fail(p, "key must be a string");
    if (!skip_string(p)) return false;
    skip_whitespace(p);
    c = peek(p);
    if (c < 0) return fail(p, "EOF while parsing an object");
    if (c != ':') return fail(p, "expected `:`");
    p->pos++;
    return true;
}

/* Checks and skips any value, iteratively (no depth limit, like serde_json's IgnoredAny). */
static bool skip_value(struct parser *p) {
    p->frames.len = 0;
    for (;;) {
        /* A value starts here. */
        skip_whitespace(p);
        int c = peek(p);
        bool done = true;
        if (c == '[' || c == '{') {
            p->pos++;
            skip_whitespace(p);
            if (peek(p) == (c == '[' ? ']' : '}')) {
                p->pos++;
            } else {
                push(&p->frames, (uint8_t)c);
                if (p->frames.oom) return fail(p, "out of memory");
                if (c == '{' && !skipped_key(p)) return false;
                done = false;
            }
        } else if (c == '"') {
            if (!skip_string(p)) return false;
        } else if (parse_scalar(p) == K_ERROR) {
            return false;
        }
        /* After a value: close frames until a comma asks for the next value. */
        while (done) {
            if (p->frames.len == 0) return true;
            uint8_t frame = p->frames.data[p->frames.len - 1];
            skip_whitespace(p);
            c = peek(p);
            if (c == ',') {
                p->pos++;
                if (frame == '{') {
                    skip_whitespace(p);
                    if (!skipped_key(p)) return false;
                }
                done = false;
            } else if (c == (frame == '[' ? ']' : '}')) {
                p->pos++;
                p->frames.len--;
            } else if (c < 0) {
                return fail(p, frame == '[' ? "EOF while parsing a list" : "EOF while parsing an object");
            } else {
                return fail(p, frame == '[' ? "expected `,` or `]`" : "expected `,` or `}`");
            }
        }
    }
}

/* The last number read as serde_json would quote it in an error, computed from its text (no floating-point
 * library): the shortest digits (exact for up to 15 significant digits, else rounded to 17), in fixed notation
 * (with ".0" when integral) for decimal exponents -5..=15, else as "d.ddde+N" / "d.ddde-N". Returns false when
 * the number is beyond the range of a double (serde_json's "number out of range"). */
static bool float_text(const struct parser *p, char *out, size_t out_size) {
    const uint8_t *s = p->s + p->num_start, *end = p->s + p->num_end;
    bool negative = *s == '-';
    if (negative) s++;
    char digits[18];
    size_t n = 0;
    int64_t exp10 = 0; /* value = digits × 10^exp10 */
    bool round_up = false, dropped = false, seen_dot = false;
    for (; s < end && *s != 'e' && *s != 'E'; s++) {
        if (*s == '.') {
            seen_dot = true;
            continue;
        }
        if (n == 0 && *s == '0') {
            if (seen_dot) exp10--;
            continue;
        }
        if (n < 17) {
            digits[n++] = (char)*s;
            if (seen_dot) exp10--;
        } else {
            /* Beyond 17 significant digits: the first dropped digit rounds, the others only scale. */
            if (!dropped) round_up = *s >= '5';
            dropped = true;
            if (!seen_dot) exp10++;
        }
    }
    if (s < end) { /* exponent */
        s++;
        bool exp_negative = *s == '-';
        if (*s == '+' || *s == '-') s++;
        int64_t x = 0;
        for (; s < end; s++) {
            if (x < 100000000) x = x * 10 + (*s - '0');
        }
        exp10 += exp_negative ? -x : x;
    }
    size_t o = 0;
#define PUT(c) ((void)(o + 1 < out_size ? (out[o++] = (char)(c)) : 0))
    if (negative) PUT('-');
    if (n == 0) {
        PUT('0'), PUT('.'), PUT('0');
        out[o] = 0;
        return true;
    }
    if (round_up) {
        size_t i = n;
        while (i > 0 && digits[i - 1] == '9') digits[--i] = '0';
        if (i == 0) {
            digits[0] = '1';
            exp10 += (int64_t)n; /* 999… became 1000…: keep one digit */
            n = 1;
        } else {
            digits[i - 1]++;
        }
    }
    while (n > 1 && digits[n - 1] == '0') {
        n--;
        exp10++;
    }
    int64_t e = exp10 + (int64_t)n - 1; /* exponent of the leading digit */
    if (e > 308) return false;
    if (e == 308) {
        static const char max[] = "17976931348623157";
        for (size_t i = 0; i < 17; i++) {
            char d = i < n ? digits[i] : '0';
            if (d != max[i]) {
                if (d > max[i]) return false;
                break;
            }
        }
    }
    if (e < -324) {
        PUT('0'), PUT('.'), PUT('0');
    } else if (e >= -5 && e <= 15) {
        if (e < 0) {
            PUT('0'), PUT('.');
            for (int64_t i = -1; i > e; i--) PUT('0');
            for (size_t i = 0; i < n; i++) PUT(digits[i]);
        } else {
            size_t whole = (size_t)e + 1;
            for (size_t i = 0; i < whole; i++) PUT(i < n ? digits[i] : '0');
            PUT('.');
            if (n <= whole) PUT('0');
            for (size_t i = whole; i < n; i++) PUT(digits[i]);
        }
    } else {
        PUT(digits[0]);
        if (n > 1) {
            PUT('.');
            for (size_t i = 1; i < n; i++) PUT(digits[i]);
        }
        PUT('e'), PUT(e < 0 ? '-' : '+');
        char x[8];
        size_t k = 0;
        for (int64_t v = e < 0 ? -e : e; v || k == 0; v /= 10) x[k++] = (char)('0' + v % 10);
        while (k) PUT(x[--k]);
    }
#undef PUT
    out[o] = 0;
    return true;
}

/* A scalar where a field's value is read: like serde_json, a number beyond the double range is refused. */
static enum kind parse_field_scalar(struct parser *p) {
    char text[64];
    enum kind kind = parse_scalar(p);
    if (kind == K_FLOAT && !float_text(p, text, sizeof text)) return fail_here(p, "number out of range"), K_ERROR;
    return kind;
}

/* serde's description of an unexpected value, appended to the error. */
static void err_describe(struct parser *p, enum kind kind) {
    switch (kind) {
    case K_NULL: err_str(p, "null"); break;
    case K_BOOL: err_str(p, p->bool_value ? "boolean `true`" : "boolean `false`"); break;
    case K_STRING:
        err_str(p, "string \"");
        err_add(p, (const char *)p->str.data, p->str.len);
        err_str(p, "\"");
        break;
    case K_FLOAT: {
        char text[64];
        float_text(p, text, sizeof text);
        err_str(p, "floating point `");
        err_str(p, text);
        err_str(p, "`");
        break;
    }
    default:
        err_str(p, "integer `");
        err_add(p, (const char *)p->s + p->num_start, p->num_end - p->num_start);
        err_str(p, "`");
        break;
    }
}

static bool fail_type(struct parser *p, const char *what, enum kind kind, const char *expected) {
    if (!fail_begin(p)) return false;
    err_str(p, what);
    err_describe(p, kind);
    err_str(p, ", expected ");
    err_str(p, expected);
    return fail_end(p, false);
}

/* A sequence or map where a scalar is expected: refused at its first byte, unread (as serde_json does). */
static bool fail_compound(struct parser *p, const char *expected) {
    if (!fail_begin(p)) return false;
    err_str(p, peek(p) == '[' ? "invalid type: sequence, expected " : "invalid type: map, expected ");
    err_str(p, expected);
    return fail_end(p, false);
}

static bool is_compound(const struct parser *p) {
    return peek(p) == '[' || peek(p) == '{';
}

static bool parse_u32(struct parser *p, uint32_t *out) {
    if (is_compound(p)) return fail_compound(p, "u32");
    enum kind kind = parse_field_scalar(p);
    if (kind == K_ERROR) return false;
    if (kind == K_UINT && p->uint_value <= UINT32_MAX) {
        *out = (uint32_t)p->uint_value;
        return true;
    }
    if (kind == K_UINT || kind == K_NEG) return fail_type(p, "invalid value: ", kind, "u32");
    return fail_type(p, "invalid type: ", kind, "u32");
}

static bool set_body(struct parser *p, struct fi_config *config) {
    if (p->str.len == 0) return true;
    config->body = malloc(p->str.len);
    if (!config->body) return fail(p, "out of memory");
    memcpy(config->body, p->str.data, p->str.len);
    config->body_len = p->str.len;
    return true;
}

static bool key_is(const struct parser *p, const char *name) {
    size_t n = strlen(name);
    return p->str.len == n && memcmp(p->str.data, name, n) == 0;
}

/* Before the next element of a sequence: 1 when one follows, 0 at `]` (not consumed), -1 on error. */
static int seq_next(struct parser *p, bool *first) {
    skip_whitespace(p);
    int c = peek(p);
    if (c == ']') return 0;
    if (c < 0) return fail(p, "EOF while parsing a list"), -1;
    if (!*first) {
        if (c != ',') return fail(p, "expected `,` or `]`"), -1;
        p->pos++;
        skip_whitespace(p);
        if (peek(p) == ']') return fail(p, "trailing comma"), -1;
        if (peek(p) < 0) return fail(p, "EOF while parsing a value"), -1;
    }
    *first = false;
    return 1;
}

/* serde's other form of a struct: `[http_status, body, percentage]`, all three present (body may be left out
 * only when the sequence ends, and then the missing percentage is refused anyway). */
static bool parse_config_sequence(struct parser *p, struct fi_config *config) {
    p->pos++;
    bool first = true;
    int next = seq_next(p, &first);
    size_t count = 0;
    if (next > 0) {
        if (!parse_u32(p, &config->http_status)) return false;
        count = 1;
        next = seq_next(p, &first);
    }
    if (next > 0) {
        if (is_compound(p)) return fail_compound(p, "a string");
        enum kind kind = parse_field_scalar(p);
        if (kind == K_ERROR) return false;
        if (kind != K_STRING) return fail_type(p, "invalid type: ", kind, "a string");
        if (!set_body(p, config)) return false;
        next = seq_next(p, &first);
    }
    if (next > 0) {
        if (peek(p) == 'n') {
            if (!literal(p, "null")) return false;
        } else {
            if (!parse_u32(p, &config->percentage)) return false;
            config->has_percentage = true;
        }
        count = 3;
    }
    if (next < 0) return false;
    /* The end of the sequence. */
    skip_whitespace(p);
    int c = peek(p);
    bool ended = false;
    if (c == ']') {
        p->pos++;
        ended = true;
    } else if (c == ',') {
        p->pos++;
        skip_whitespace(p);
        if (count == 3) return fail(p, peek(p) == ']' ? "trailing comma" : "trailing characters");
    } else if (count == 3) {
        return fail(p, c < 0 ? "EOF while parsing a list" : "trailing characters");
    }
    (void)ended;
    if (count < 3) {
        if (!fail_begin(p)) return false;
        err_str(p, "invalid length ");
        err_u64(p, count == 0 ? 0 : 2);
        err_str(p, ", expected struct Config with 3 elements");
        return fail_end(p, false);
    }
    skip_whitespace(p);
    if (peek(p) >= 0) return fail(p, "trailing characters");
    return true;
}

static bool parse_config(struct parser *p, struct fi_config *config) {
    skip_whitespace(p);
    int c = peek(p);
    if (c < 0) return fail(p, "EOF while parsing a value");
    if (c == '[') return parse_config_sequence(p, config);
    if (c != '{') {
        enum kind kind = parse_field_scalar(p);
        if (kind == K_ERROR) return false;
        return fail_type(p, "invalid type: ", kind, "struct Config");
    }
    p->pos++;
    bool seen_status = false, seen_body = false, seen_percentage = false;
    skip_whitespace(p);
    if (peek(p) == '}') {
        p->pos++;
    } else {
        for (;;) {
            skip_whitespace(p);
            c = peek(p);
            if (c < 0) return fail(p, "EOF while parsing an object");
            if (c != '"') return fail(p, "key must be a string");
            if (!parse_string(p)) return false;
            int field = key_is(p, "http_status") ? 1 : key_is(p, "body") ? 2 : key_is(p, "percentage") ? 3 : 0;
            if ((field == 1 && seen_status) || (field == 2 && seen_body) || (field == 3 && seen_percentage)) {
                static const char *const names[] = {"", "http_status", "body", "percentage"};
                fail_begin(p);
                err_str(p, "duplicate field `");
                err_str(p, names[field]);
                err_str(p, "`");
                return fail_end(p, false);
            }
            skip_whitespace(p);
            c = peek(p);
            if (c < 0) return fail(p, "EOF while parsing an object");
            if (c != ':') return fail(p, "expected `:`");
            p->pos++;
            skip_whitespace(p);
            if (field == 1) {
                seen_status = true;
                if (!parse_u32(p, &config->http_status)) return false;
            } else if (field == 2) {
                seen_body = true;
                if (is_compound(p)) return fail_compound(p, "a string");
                enum kind kind = parse_field_scalar(p);
                if (kind == K_ERROR) return false;
                if (kind != K_STRING) return fail_type(p, "invalid type: ", kind, "a string");
                if (!set_body(p, config)) return false;
            } else if (field == 3) {
                seen_percentage = true;
                if (peek(p) == 'n') {
                    if (!literal(p, "null")) return false;
                } else {
                    if (!parse_u32(p, &config->percentage)) return false;
                    config->has_percentage = true;
                }
            } else if (!skip_value(p)) {
                return false;
            }
            skip_whitespace(p);
            c = peek(p);
            if (c == '}') {
                p->pos++;
                break;
            }
            if (c < 0) return fail(p, "EOF while parsing an object");
            if (c != ',') return fail(p, "expected `,` or `}`");
            p->pos++;
            skip_whitespace(p);
            if (peek(p) == '}') return fail(p, "trailing comma");
        }
    }
    if (!seen_status) return fail_here(p, "missing field `http_status`");
    skip_whitespace(p);
    if (peek(p) >= 0) return fail(p, "trailing characters");
    return true;
}

bool fi_parse_config(const uint8_t *input, size_t len, struct fi_config *config, char *error, size_t error_size) {
    struct parser p = {.s = input, .len = len, .error = error, .error_size = error_size};
    memset(config, 0, sizeof *config);
    if (error_size) error[0] = 0;
    bool ok = parse_config(&p, config);
    if (p.str.oom && !p.failed) {
        ok = false;
        fail(&p, "out of memory");
    }
    free(p.str.data);
    free(p.frames.data);
    if (!ok) {
        free(config->body);
        config->body = NULL;
        config->body_len = 0;
    }
    return ok;
}
