/*
 * The configuration reader described in config.h, on jsmn.
 *
 * jsmn (strict mode) splits the input into tokens and checks strings, escapes and bracket nesting; it leaves the
 * rest of the grammar to its caller. The walk below reads the tokens in document order and checks what lies
 * between them (only whitespace and the expected `{ } [ ] : ,`), that each primitive is `true`, `false`, `null`
 * or a JSON number, that strings hold UTF-8 and neither a control character nor a lone surrogate, and that
 * nesting stays within 128 levels (the walk recurses). It decodes the escapes of the keys and of `body` itself:
 * jsmn returns strings as they are written.
 */

#include "config.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define JSMN_STATIC
#define JSMN_STRICT
#include <jsmn.h>

enum { MAX_DEPTH = 128 };
#define BAD_STRING SIZE_MAX

static const char not_json[] = "not valid JSON";

static bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

/* ---- primitives ---- */

enum primitive { P_BAD, P_NULL, P_BOOL, P_UINT /* digits only */, P_NUMBER /* any other number */ };

static enum primitive primitive(const char *s, size_t n) {
    if (n == 4 && memcmp(s, "null", 4) == 0) return P_NULL;
    if ((n == 4 && memcmp(s, "true", 4) == 0) || (n == 5 && memcmp(s, "false", 5) == 0)) return P_BOOL;
    size_t i = 0;
    bool negative = n > 0 && s[0] == '-';
    if (negative) i++;
    if (i == n || !is_digit(s[i])) return P_BAD;
    if (s[i] == '0') {
        i++;
    } else {
        while (i < n && is_digit(s[i])) i++;
    }
    bool integer = true;
    if (i < n && s[i] == '.') {
        integer = false;
        if (++i == n || !is_digit(s[i])) return P_BAD;
        while (i < n && is_digit(s[i])) i++;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        integer = false;
        if (++i < n && (s[i] == '+' || s[i] == '-')) i++;
        if (i == n || !is_digit(s[i])) return P_BAD;
        while (i < n && is_digit(s[i])) i++;
    }
    if (i != n) return P_BAD;
    return integer && !negative ? P_UINT : P_NUMBER;
}

/* ---- strings ---- */

/* The length of the well-formed UTF-8 sequence at s (n bytes available), or 0. */
static size_t utf8_sequence(const uint8_t *s, size_t n) {
    size_t len;
    uint32_t cp, min;
    if (s[0] < 0x80) return 1;
    if (s[0] >= 0xc2 && s[0] <= 0xdf) {
        len = 2, cp = s[0] & 0x1f, min = 0x80;
    } else if ((s[0] & 0xf0) == 0xe0) {
        len = 3, cp = s[0] & 0x0f, min = 0x800;
    } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        len = 4, cp = s[0] & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (n < len) return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80) return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
    return len;
}

static int hex4(const char *s, size_t n) {
    if (n < 4) return -1;
    int v = 0;
    for (size_t i = 0; i < 4; i++) {
        char c = s[i];
        int d = is_digit(c) ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : (c >= 'A' && c <= 'F') ? c - 'A' + 10 : -1;
        if (d < 0) return -1;
        v = v << 4 | d;
    }
    return v;
}

static size_t put_utf8(uint8_t *out, uint32_t cp) {
    uint8_t b[4];
    size_t len;
    if (cp < 0x80) {
        b[0] = (uint8_t)cp, len = 1;
    } else if (cp < 0x800) {
        b[0] = (uint8_t)(0xc0 | cp >> 6), b[1] = (uint8_t)(0x80 | (cp & 0x3f)), len = 2;
    } else if (cp < 0x10000) {
        b[0] = (uint8_t)(0xe0 | cp >> 12), b[1] = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
        b[2] = (uint8_t)(0x80 | (cp & 0x3f)), len = 3;
    } else {
        b[0] = (uint8_t)(0xf0 | cp >> 18), b[1] = (uint8_t)(0x80 | (cp >> 12 & 0x3f));
        b[2] = (uint8_t)(0x80 | (cp >> 6 & 0x3f)), b[3] = (uint8_t)(0x80 | (cp & 0x3f)), len = 4;
    }
    if (out) memcpy(out, b, len);
    return len;
}

/* Decodes the content of a string token (n bytes, without its quotes) into out (n bytes are enough; NULL only
 * checks). Returns the decoded length, or BAD_STRING for a control character, bad UTF-8, a bad escape or a lone
 * surrogate. */
static size_t unescape(const char *s, size_t n, uint8_t *out) {
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        uint8_t c = (uint8_t)s[i];
        if (c < 0x20) return BAD_STRING;
        if (c != '\\') {
            size_t k = utf8_sequence((const uint8_t *)s + i, n - i);
            if (k == 0) return BAD_STRING;
            if (out) memcpy(out + o, s + i, k);
            o += k, i += k;
            continue;
        }
        if (i + 1 == n) return BAD_STRING;
        char e = s[i + 1];
        i += 2;
        uint32_t cp;
        switch (e) {
        case '"': cp = '"'; break;
        case '\\': cp = '\\'; break;
        case '/': cp = '/'; break;
        case 'b': cp = '\b'; break;
        case 'f': cp = '\f'; break;
        case 'n': cp = '\n'; break;
        case 'r': cp = '\r'; break;
        case 't': cp = '\t'; break;
        case 'u': {
            int hi = hex4(s + i, n - i);
            if (hi < 0 || (hi >= 0xdc00 && hi <= 0xdfff)) return BAD_STRING;
            i += 4;
            cp = (uint32_t)hi;
            if (hi >= 0xd800 && hi <= 0xdbff) {
                int lo = n - i >= 6 && s[i] == '\\' && s[i + 1] == 'u' ? hex4(s + i + 2, n - i - 2) : -1;
                if (lo < 0xdc00 || lo > 0xdfff) return BAD_STRING;
                i += 6;
                cp = 0x10000 + ((uint32_t)(hi - 0xd800) << 10) + (uint32_t)(lo - 0xdc00);
            }
            break;
        }
        default:
            return BAD_STRING;
        }
        o += put_utf8(out ? out + o : NULL, cp);
    }
    return o;
}

/* ---- the walk over jsmn's tokens ---- */

struct walk {
    const char *js;
    size_t len, pos;
    const jsmntok_t *tokens;
    int count, next;
};

static void skip_space(struct walk *w) {
    while (w->pos < w->len && is_space(w->js[w->pos])) w->pos++;
}

static bool punct(struct walk *w, char c) {
    skip_space(w);
    if (w->pos == w->len || w->js[w->pos] != c) return false;
    w->pos++;
    return true;
}

/* Reads the next token, which must start at the next non-space byte; moves past it (past the opening bracket of
 * an object or array). NULL when there is none there. */
static const jsmntok_t *token(struct walk *w) {
    skip_space(w);
    if (w->next >= w->count) return NULL;
    const jsmntok_t *t = &w->tokens[w->next];
    size_t quoted = t->type == JSMN_STRING;
    if ((size_t)t->start - quoted != w->pos) return NULL;
    w->next++;
    w->pos = t->type == JSMN_OBJECT || t->type == JSMN_ARRAY ? w->pos + 1 : (size_t)t->end + quoted;
    return t;
}

static size_t token_len(const jsmntok_t *t) {
    return (size_t)(t->end - t->start);
}

static bool value(struct walk *w, const jsmntok_t *t, int depth);

/* Reads a member's key and the colon after it. */
static const jsmntok_t *key(struct walk *w) {
    const jsmntok_t *k = token(w);
    if (!k || k->type != JSMN_STRING || !value(w, k, 0) || !punct(w, ':')) return NULL;
    return k;
}

/* Checks the value whose token was just read; for an object or array, reads its content and closing bracket. */
static bool value(struct walk *w, const jsmntok_t *t, int depth) {
    if (!t) return false;
    switch (t->type) {
    case JSMN_STRING:
        return unescape(w->js + t->start, token_len(t), NULL) != BAD_STRING;
    case JSMN_PRIMITIVE:
        return primitive(w->js + t->start, token_len(t)) != P_BAD;
    case JSMN_OBJECT:
    case JSMN_ARRAY: {
        bool object = t->type == JSMN_OBJECT;
        if (depth >= MAX_DEPTH) return false;
        for (int i = 0; i < t->size; i++) {
            if (i > 0 && !punct(w, ',')) return false;
            if (object && !key(w)) return false;
            if (!value(w, token(w), depth + 1)) return false;
        }
        return punct(w, object ? '}' : ']') && w->pos == (size_t)t->end;
    }
    default:
        return false;
    }
}

/* ---- the configuration's fields ---- */

enum field { F_HTTP_STATUS, F_BODY, F_PERCENTAGE, F_COUNT, F_UNKNOWN = F_COUNT };

static const char *const field_names[F_COUNT] = {"http_status", "body", "percentage"};
static const char *const field_twice[F_COUNT] = {"http_status given twice", "body given twice",
                                                 "percentage given twice"};

static enum field field_of(struct walk *w, const jsmntok_t *k) {
    size_t n = token_len(k);
    uint8_t *name = malloc(n ? n : 1);
    if (!name) return F_UNKNOWN;
    size_t len = unescape(w->js + k->start, n, name);
    enum field f = F_UNKNOWN;
    for (int i = 0; i < F_COUNT; i++) {
        if (len == strlen(field_names[i]) && memcmp(name, field_names[i], len) == 0) f = (enum field)i;
    }
    free(name);
    return f;
}

static bool read_u32(struct walk *w, const jsmntok_t *t, uint32_t *out) {
    const char *s = w->js + t->start;
    size_t n = token_len(t);
    if (t->type != JSMN_PRIMITIVE || primitive(s, n) != P_UINT) return false;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        v = v * 10 + (uint64_t)(s[i] - '0');
        if (v > UINT32_MAX) return false;
    }
    *out = (uint32_t)v;
    return true;
}

static const char *read_field(struct walk *w, enum field f, const jsmntok_t *v, struct fi_config *config) {
    switch (f) {
    case F_HTTP_STATUS:
        return read_u32(w, v, &config->http_status) ? NULL : "http_status must be an unsigned 32-bit integer";
    case F_PERCENTAGE:
        if (v->type == JSMN_PRIMITIVE && primitive(w->js + v->start, token_len(v)) == P_NULL) return NULL;
        config->has_percentage = true;
        return read_u32(w, v, &config->percentage) ? NULL : "percentage must be an unsigned 32-bit integer or null";
    case F_BODY:
        if (v->type != JSMN_STRING) return "body must be a string";
        if (token_len(v) == 0) return NULL;
        config->body = malloc(token_len(v));
        if (!config->body) return "out of memory";
        config->body_len = unescape(w->js + v->start, token_len(v), config->body);
        return NULL;
    default:
        return NULL;
    }
}

static const char *read_object(struct walk *w, struct fi_config *config) {
    const jsmntok_t *object = token(w);
    if (!object || object->type != JSMN_OBJECT) return "not a JSON object";
    bool seen[F_COUNT] = {false};
    for (int i = 0; i < object->size; i++) {
        if (i > 0 && !punct(w, ',')) return not_json;
        const jsmntok_t *k = key(w);
        const jsmntok_t *v = k ? token(w) : NULL;
        if (!value(w, v, 1)) return not_json;
        enum field f = field_of(w, k);
        if (f == F_UNKNOWN) continue;
        if (seen[f]) return field_twice[f];
        seen[f] = true;
        const char *error = read_field(w, f, v, config);
        if (error) return error;
    }
    if (!punct(w, '}') || w->pos != (size_t)object->end) return not_json;
    skip_space(w);
    if (w->pos != w->len) return "trailing characters after the object";
    if (!seen[F_HTTP_STATUS]) return "missing http_status";
    return NULL;
}

const char *fi_read_config(const uint8_t *input, size_t len, struct fi_config *config) {
    *config = (struct fi_config){.http_status = 0};
    if (len == 0 || len > INT_MAX / 2) return not_json;
    const char *js = (const char *)input;

    /* The first pass counts the tokens, the second fills them (jsmn's documented use). */
    jsmn_parser parser;
    jsmn_init(&parser);
    int count = jsmn_parse(&parser, js, len, NULL, 0);
    if (count <= 0) return not_json;
    jsmntok_t *tokens = malloc((size_t)count * sizeof *tokens);
    if (!tokens) return "out of memory";
    jsmn_init(&parser);
    const char *error = not_json;
    if (jsmn_parse(&parser, js, len, tokens, (unsigned)count) > 0) {
        struct walk w = {.js = js, .len = len, .pos = 0, .tokens = tokens, .count = count, .next = 0};
        error = read_object(&w, config);
    }
    free(tokens);
    if (error) {
        free(config->body);
        config->body = NULL;
        config->body_len = 0;
    }
    return error;
}
