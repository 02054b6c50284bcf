/*
 * Fault injection with APISIX's `abort` semantics, written by hand against the Proxy-Wasm ABI 0.2.1 (no SDK).
 *
 * Same behaviour and validation as the Rust plugin in ../fault_injection: configuration
 * `{"http_status": 403, "body": "...", "percentage": 50}`; `http_status` is required and must be at least 200,
 * `body` defaults to empty (nginx then sends its own error page), `percentage` (1..=100) makes the plugin answer
 * only that share of requests and let the others through. The configuration is read with jsmn (config.c): what
 * the Rust plugin's serde `Config` accepts is accepted and what it refuses is refused, except that invalid UTF-8
 * or a lone surrogate in an ignored string, and nesting deeper than 128 levels, are refused too.
 *
 * Build (jsmn.h from Debian's libjsmn-dev, found in /usr/include by clang's wasm32-wasi search path):
 * clang-14 --target=wasm32-wasi -O2 -mexec-model=reactor -o fault_injection_c.wasm *.c
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

#define EXPORT(name) __attribute__((export_name(#name)))
#define IMPORT(name) __attribute__((import_module("env"), import_name(#name)))

/* Proxy-Wasm enumerations used here. */
enum { LOG_ERROR = 4 };
enum { STATUS_OK = 0 };
enum { BUFFER_PLUGIN_CONFIGURATION = 7 };
enum { ACTION_CONTINUE = 0, ACTION_PAUSE = 1 };
#define GRPC_STATUS_NONE UINT32_MAX

/* Host functions. */
IMPORT(proxy_log) uint32_t proxy_log(uint32_t level, const char *message, size_t size);
IMPORT(proxy_get_buffer_bytes)
uint32_t proxy_get_buffer_bytes(uint32_t buffer, size_t start, size_t max_size, uint8_t **data, size_t *size);
IMPORT(proxy_get_current_time_nanoseconds) uint32_t proxy_get_current_time_nanoseconds(uint64_t *nanos);
IMPORT(proxy_send_local_response)
uint32_t proxy_send_local_response(uint32_t status_code, const char *details, size_t details_size,
                                   const uint8_t *body, size_t body_size, const uint8_t *headers,
                                   size_t headers_size, uint32_t grpc_status);

/* ---- configurations, shared (reference-counted) between a plugin context and its stream contexts ---- */

struct shared_config {
    uint32_t refs;
    struct fi_config config;
};

static struct shared_config *config_ref(struct shared_config *c) {
    if (c) c->refs++;
    return c;
}

static void config_unref(struct shared_config *c) {
    if (c && --c->refs == 0) {
        free(c->config.body);
        free(c);
    }
}

/* ---- contexts: an open-addressing table from context id to its configuration ---- */

struct context {
    uint32_t id; /* 0 = free slot (the host never uses id 0) */
    bool is_root;
    struct shared_config *config;
};

static struct context *contexts;
static uint32_t contexts_cap; /* a power of two, or 0 */
static uint32_t contexts_len;

static uint32_t slot_of(uint32_t id) {
    return (id * 2654435761u) & (contexts_cap - 1);
}

static struct context *context_find(uint32_t id) {
    if (contexts_cap == 0 || id == 0) return NULL;
    for (uint32_t i = slot_of(id);; i = (i + 1) & (contexts_cap - 1)) {
        if (contexts[i].id == id) return &contexts[i];
        if (contexts[i].id == 0) return NULL;
    }
}

static bool context_grow(void) {
    uint32_t old_cap = contexts_cap;
    struct context *old = contexts;
    uint32_t cap = old_cap ? old_cap * 2 : 64;
    struct context *table = calloc(cap, sizeof *table);
    if (!table) return false;
    contexts = table;
    contexts_cap = cap;
    for (uint32_t j = 0; j < old_cap; j++) {
        if (old[j].id == 0) continue;
        uint32_t i = slot_of(old[j].id);
        while (contexts[i].id != 0) i = (i + 1) & (cap - 1);
        contexts[i] = old[j];
    }
    free(old);
    return true;
}

/* Returns the context with this id, created empty if new; NULL when out of memory. */
static struct context *context_insert(uint32_t id) {
    struct context *c = context_find(id);
    if (c) return c;
    if ((contexts_len + 1) * 2 > contexts_cap && !context_grow()) return NULL;
    uint32_t i = slot_of(id);
    while (contexts[i].id != 0) i = (i + 1) & (contexts_cap - 1);
    contexts[i] = (struct context){.id = id};
    contexts_len++;
    return &contexts[i];
}

/* Linear-probing removal with backward shift (no tombstones). */
static void context_remove(struct context *c) {
    uint32_t mask = contexts_cap - 1;
    uint32_t hole = (uint32_t)(c - contexts);
    contexts[hole].id = 0;
    contexts_len--;
    for (uint32_t i = (hole + 1) & mask; contexts[i].id != 0; i = (i + 1) & mask) {
        uint32_t home = slot_of(contexts[i].id);
        /* Move the entry into the hole when its home slot is not in (hole, i]. */
        bool movable = hole <= i ? (home <= hole || home > i) : (home <= hole && home > i);
        if (movable) {
            contexts[hole] = contexts[i];
            contexts[i].id = 0;
            hole = i;
        }
    }
}

/* ---- logging ---- */

static void log_error(const char *message, size_t size) {
    proxy_log(LOG_ERROR, message, size);
}

struct text {
    char buf[512];
    size_t len;
};

static void text_add(struct text *t, const char *s, size_t n) {
    if (n > sizeof t->buf - t->len) n = sizeof t->buf - t->len;
    memcpy(t->buf + t->len, s, n);
    t->len += n;
}

static void text_str(struct text *t, const char *s) {
    text_add(t, s, strlen(s));
}

static void text_u32(struct text *t, uint32_t v) {
    char digits[10];
    size_t n = 0;
    do {
        digits[sizeof digits - ++n] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    text_add(t, digits + sizeof digits - n, n);
}

/* ---- callbacks ---- */

EXPORT(proxy_abi_version_0_2_1) void proxy_abi_version_0_2_1(void) {}

EXPORT(proxy_on_memory_allocate) void *proxy_on_memory_allocate(size_t size) {
    return malloc(size ? size : 1);
}

EXPORT(proxy_on_context_create) void proxy_on_context_create(uint32_t id, uint32_t parent_id) {
    struct context *c = context_insert(id);
    if (!c) return;
    if (parent_id == 0) {
        c->is_root = true;
        return;
    }
    struct context *root = context_find(parent_id);
    config_unref(c->config);
    c->config = config_ref(root ? root->config : NULL);
}

EXPORT(proxy_on_vm_start) uint32_t proxy_on_vm_start(uint32_t root_id, size_t vm_configuration_size) {
    (void)root_id;
    (void)vm_configuration_size;
    return 1;
}

EXPORT(proxy_on_configure) uint32_t proxy_on_configure(uint32_t root_id, size_t configuration_size) {
    static const char missing[] = "fault injection: missing configuration";
    struct context *root = context_find(root_id);
    if (!root) root = context_insert(root_id);
    if (!root) return 0;
    root->is_root = true;

    uint8_t *raw = NULL;
    size_t raw_len = 0;
    if (proxy_get_buffer_bytes(BUFFER_PLUGIN_CONFIGURATION, 0, configuration_size, &raw, &raw_len) != STATUS_OK) {
        log_error(missing, sizeof missing - 1);
        return 0;
    }

    struct shared_config *shared = calloc(1, sizeof *shared);
    if (!shared) {
        free(raw);
        return 0;
    }
    const char *error = fi_read_config(raw, raw_len, &shared->config);
    free(raw);

    struct text t = {.len = 0};
    if (error) {
        text_str(&t, "fault injection: bad configuration: ");
        text_str(&t, error);
    } else if (shared->config.http_status < 200) {
        text_str(&t, "fault injection: bad http_status ");
        text_u32(&t, shared->config.http_status);
        text_str(&t, ": must be at least 200");
    } else if (shared->config.has_percentage &&
               (shared->config.percentage == 0 || shared->config.percentage > 100)) {
        text_str(&t, "fault injection: bad percentage ");
        text_u32(&t, shared->config.percentage);
        text_str(&t, ": must be within 1..=100");
    }
    if (t.len) {
        log_error(t.buf, t.len);
        free(shared->config.body);
        free(shared);
        return 0;
    }
    shared->refs = 1;
    config_unref(root->config);
    root->config = shared;
    return 1;
}

/* A number in 1..=100 from the host's clock, the same roll as the Rust plugin (not cryptographic). */
static uint32_t roll(void) {
    uint64_t now = 0;
    proxy_get_current_time_nanoseconds(&now);
    uint32_t x = (uint32_t)(now % 1000000000u) ^ 0x9e3779b9u;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return x % 100 + 1;
}

EXPORT(proxy_on_request_headers)
uint32_t proxy_on_request_headers(uint32_t id, size_t num_headers, uint32_t end_of_stream) {
    (void)num_headers;
    (void)end_of_stream;
    struct context *c = context_find(id);
    if (!c || !c->config) return ACTION_CONTINUE; /* never configured: let the request through */
    const struct fi_config *config = &c->config->config;
    if (config->has_percentage && roll() > config->percentage) return ACTION_CONTINUE;
    /* An empty body is sent as none at all, so that nginx answers with its own error page. */
    static const uint8_t no_headers[4] = {0, 0, 0, 0};
    proxy_send_local_response(config->http_status, "", 0, config->body_len ? config->body : NULL,
                              config->body_len, no_headers, sizeof no_headers, GRPC_STATUS_NONE);
    return ACTION_PAUSE;
}

EXPORT(proxy_on_done) uint32_t proxy_on_done(uint32_t id) {
    (void)id;
    return 1;
}

EXPORT(proxy_on_log) void proxy_on_log(uint32_t id) {
    (void)id;
}

EXPORT(proxy_on_delete) void proxy_on_delete(uint32_t id) {
    struct context *c = context_find(id);
    if (!c) return;
    config_unref(c->config);
    context_remove(c);
}
