/*
 * The fault-injection configuration, read from JSON with jsmn (Debian's libjsmn-dev, header-only) in config.c.
 *
 * `{"http_status": 403, "body": "...", "percentage": 50}`, as the Rust plugin's `Config` reads it with serde:
 * `http_status` is required and `percentage` optional (null or absent), both unsigned 32-bit integers; `body` is an
 * optional string; other keys are ignored; a known key given twice, malformed JSON or anything after the object
 * is refused. The ranges (`http_status` >= 200, `percentage` 1..=100) are checked by the plugin.
 */
#ifndef FAULT_INJECTION_CONFIG_H
#define FAULT_INJECTION_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct fi_config {
    uint32_t http_status;
    uint8_t *body; /* malloc'd, NULL when empty */
    size_t body_len;
    bool has_percentage;
    uint32_t percentage;
};

/* Reads `input`; on success fills `config` (the caller frees config->body) and returns NULL, otherwise returns a
 * static string saying what is wrong (config->body is then NULL). */
const char *fi_read_config(const uint8_t *input, size_t len, struct fi_config *config);

#endif
