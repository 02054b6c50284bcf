/*
 * A small, strict JSON reader for the fault-injection configuration.
 *
 * It follows RFC 8259 and what the Rust plugin's serde_json accepts for its `Config`: a top-level object with a
 * required `http_status` (integer in u32), an optional `body` (string), an optional `percentage` (integer in
 * u32, or null), unknown keys with any valid JSON value ignored, duplicate known keys refused, nothing but
 * whitespace after the object. Strings are checked UTF-8; escapes \" \\ \/ \b \f \n \r \t and \uXXXX (with
 * surrogate pairs) are decoded. Error messages use serde_json's wording and its "at line L column C" suffix.
 */
#ifndef FAULT_INJECTION_JSON_H
#define FAULT_INJECTION_JSON_H

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

/* Parses `input`; on success fills `config` (the caller frees config->body) and returns true, otherwise writes
 * a NUL-terminated message to `error` and returns false (config->body is then NULL). */
bool fi_parse_config(const uint8_t *input, size_t len, struct fi_config *config, char *error, size_t error_size);

#endif
