-- resty.proxy-wasm: run Proxy-Wasm plugins from OpenResty / lua-nginx-module.
--
-- The Lua API of api7/wasm-nginx-module (so Apache APISIX's wasm layer runs on it unchanged), over the C ABI
-- exported by ngx_http_proxy_wasm_module (src/ffi.rs). Load the module with `load_module` first.
--
--   local wasm = require("resty.proxy-wasm")
--   local plugin, err = wasm.load(name, path)           -- in init_by_lua / init_worker_by_lua / any phase
--   local ctx, err = wasm.on_configure(plugin, conf)    -- conf: a non-empty string
--   local ok, err = wasm.on_http_request_headers(ctx)   -- access or rewrite phase
--   local ok, err = wasm.on_http_request_body(ctx, body, eof)
--   local ok, err = wasm.on_http_response_headers(ctx)  -- header_filter
--   local ok, err = wasm.on_http_response_body(ctx)     -- body_filter (uses ngx.arg[1], ngx.arg[2])
--
-- HTTP calls a plugin dispatches from a request phase (or from proxy_on_http_call_response) are performed before
-- the call returns: by nginx, in parallel, as subrequests through the location marked `proxy_wasm_http_calls`
-- (an `upstream {}` of the call's name, else a host for nginx's `resolver`; TLS as that location's proxy_ssl_*
-- say), the request coroutine sleeping while the worker goes on. Each response (or failure: zero headers, empty
-- body) goes back to the plugin as it arrives; the callback may dispatch again or send a local response. When
-- every call is answered, the call returns true (the request goes on), whether the plugin returned Pause and
-- continued, or not.
--
-- When a plugin sends a local response from a request phase, the call does not return: the response is sent
-- (status, the plugin's headers, its body or nginx's error page) and the request ends with ngx.exit.
-- From proxy_on_response_headers, the response's status and headers are replaced (before nginx sends them) and
-- its body is replaced by the next on_http_response_body call (so call it from body_filter_by_lua); from
-- proxy_on_response_body a local response is refused (logged) and the call fails.

local ffi = require("ffi")
local jit = require("jit")
local base = require("resty.core.base")

local C = ffi.C
local ffi_cast = ffi.cast
local ffi_gc = ffi.gc
local ffi_string = ffi.string
local get_request = base.get_request
local get_phase = ngx.get_phase
local io_open = io.open
local pairs = pairs
local type = type
local ngx = ngx
local ngx_exit = ngx.exit
local ngx_print = ngx.print
local ngx_send_headers = ngx.send_headers
local ngx_header = ngx.header
local ngx_log = ngx.log
local ngx_ERR = ngx.ERR
local tonumber = tonumber
local tostring = tostring
local ipairs = ipairs
local HTTP_OK = ngx.HTTP_OK

ffi.cdef[[
typedef struct {
    int                   status;
    const unsigned char  *body;
    size_t                body_len;
    const unsigned char  *headers;
    size_t                headers_len;
    size_t                calls;
} ngx_proxy_wasm_result_t;

void *ngx_proxy_wasm_load(const char *name, size_t name_len, const char *code, size_t code_len,
                          const char *vm_config, size_t vm_config_len);
void ngx_proxy_wasm_unload(void *plugin);
void ngx_proxy_wasm_set_root_id(void *plugin, const char *id, size_t id_len);
void *ngx_proxy_wasm_on_configure(void *plugin, const char *conf, size_t conf_len);
void ngx_proxy_wasm_delete_plugin_ctx(void *ctx);
int ngx_proxy_wasm_on_http(void *r, void *ctx, int phase, const char *body, size_t body_len, int eof,
                           ngx_proxy_wasm_result_t *out);
int ngx_proxy_wasm_call_next(void *r, void *ctx, ngx_proxy_wasm_result_t *out);
int ngx_proxy_wasm_shared_get(const char *key, size_t key_len, const unsigned char **value, size_t *value_len,
                              uint32_t *cas);
int ngx_proxy_wasm_shared_set(const char *key, size_t key_len, const char *value, size_t value_len,
                              uint32_t cas);
int ngx_proxy_wasm_shared_delete(const char *key, size_t key_len);
int ngx_proxy_wasm_metric(const char *name, size_t name_len, int64_t *value);
int ngx_proxy_wasm_metrics_text(const unsigned char **text, size_t *len);
typedef int (*ngx_proxy_wasm_foreign_fn)(const unsigned char *args, size_t args_len, const unsigned char **out,
                                         size_t *out_len);
int ngx_proxy_wasm_register_foreign_function(const char *name, size_t name_len, ngx_proxy_wasm_foreign_fn f);
int ngx_proxy_wasm_pause_state(void *r, void *ctx, int give_up);
]]

local ERROR = -1
local LOCAL_RESPONSE = 1
local BODY = 2
local CLOSE = 3
local PAUSE = 4
local CALLS_PENDING = 5
local CALLS_DONE = 6
local HTTP_CLOSE = 444

local NO_REQUEST_PHASES = { init = true, init_worker = true, timer = true }

local PHASE_REQUEST_HEADERS = 0
local PHASE_REQUEST_BODY = 1
local PHASE_RESPONSE_HEADERS = 2
local PHASE_RESPONSE_BODY = 3

-- One result buffer, reused by every call (the C side fills it; Lua copies out at once).
local result = ffi.new("ngx_proxy_wasm_result_t[1]")
local u32p = ffi.typeof("const uint32_t *")

local _M = {
    version = "0.1.0",
    -- Seconds a request a plugin paused (Pause with nothing pending) waits for the plugin to continue it from
    -- another callback (a tick, a queue item, another request) before the call fails.
    pause_timeout = 60,
}

-- Load a plugin; `vm_config` (optional) is the VM configuration its proxy_on_vm_start reads; `root_id`
-- (optional) what `plugin_root_id` answers, `name` by default as on api7's module (Envoy's default is "").
function _M.load(name, path, vm_config, root_id)
    if type(name) ~= "string" or name == "" then
        return nil, "bad name"
    end
    if type(path) ~= "string" then
        return nil, "bad path"
    end
    if vm_config ~= nil and type(vm_config) ~= "string" then
        return nil, "bad vm_config"
    end
    if root_id ~= nil and type(root_id) ~= "string" then
        return nil, "bad root_id"
    end
    vm_config = vm_config or ""
    root_id = root_id or name
    local f, err = io_open(path, "rb")
    if not f then
        return nil, err
    end
    local code
    code, err = f:read("*a")
    f:close()
    if not code then
        return nil, err
    end
    local plugin = C.ngx_proxy_wasm_load(name, #name, code, #code, vm_config, #vm_config)
    if plugin == nil then
        return nil, "failed to load wasm plugin"
    end
    C.ngx_proxy_wasm_set_root_id(plugin, root_id, #root_id)
    return ffi_gc(plugin, C.ngx_proxy_wasm_unload)
end

function _M.on_configure(plugin, conf)
    if type(plugin) ~= "cdata" then
        return nil, "bad plugin"
    end
    if type(conf) ~= "string" or conf == "" then
        return nil, "bad conf"
    end
    local ctx = C.ngx_proxy_wasm_on_configure(plugin, conf, #conf)
    if ctx == nil then
        return nil, "failed to run proxy_on_configure"
    end
    return ffi_gc(ctx, C.ngx_proxy_wasm_delete_plugin_ctx)
end

-- Decode a Proxy-Wasm header map keeping every pair in order: an array of { key, value }.
-- Encoding: u32 count, count x (u32 key_len, u32 value_len), then each key and value NUL-terminated.
local function decode_pairs(ptr, len)
    local pairs_ = {}
    if len < 4 then
        return pairs_
    end
    local n = ffi_cast(u32p, ptr)[0]
    local sizes = ffi_cast(u32p, ptr + 4)
    local data = ptr + 4 + n * 8
    for i = 0, n - 1 do
        local klen, vlen = sizes[i * 2], sizes[i * 2 + 1]
        local key = ffi_string(data, klen)
        data = data + klen + 1
        local value = ffi_string(data, vlen)
        data = data + vlen + 1
        pairs_[#pairs_ + 1] = { key, value }
    end
    return pairs_
end

-- Decode a header map into the shape ngx.header takes: name -> value, or a table of values when repeated.
local function decode_map(ptr, len)
    local headers = {}
    local list = decode_pairs(ptr, len)
    for i = 1, #list do
        local key, value = list[i][1], list[i][2]
        local prev = headers[key]
        if prev == nil then
            headers[key] = value
        elseif type(prev) == "table" then
            prev[#prev + 1] = value
        else
            headers[key] = { prev, value }
        end
    end
    return headers
end

local send_local_response

-- The HTTP calls a callback dispatched run in nginx (subrequests through the location marked
-- proxy_wasm_http_calls); the request sleeps, the worker does not. Each answer is delivered to the plugin as it
-- arrives; calls dispatched from proxy_on_http_call_response join the wait. Returns true when every call is
-- answered (the request goes on), nil, err on failure; does not return when a callback sends a local response.
local function run_calls(r, ctx)
    local delay = 0.001
    while true do
        local rc = C.ngx_proxy_wasm_call_next(r, ctx, result)
        if rc == CALLS_DONE then
            return true
        end
        if rc == CALLS_PENDING then
            ngx.sleep(delay)
            if delay < 0.004 then
                delay = delay * 2
            end
        elseif rc == ERROR then
            return nil, "failed to run proxy_on_http_call_response"
        elseif rc == LOCAL_RESPONSE then
            return send_local_response()
        elseif rc == CLOSE then
            return ngx_exit(HTTP_CLOSE)
        else
            delay = 0.001
        end
    end
end

-- Send the local response the plugin asked for and end the request.
send_local_response = function()
    local res = result[0]
    local status = res.status
    ngx.status = status
    -- An empty map is 4 bytes (its count): most local responses have no headers.
    if res.headers_len > 4 then
        for k, v in pairs(decode_map(res.headers, res.headers_len)) do
            ngx_header[k] = v
        end
    end
    if res.body_len > 0 then
        ngx_print(ffi_string(res.body, res.body_len))
        return ngx_exit(HTTP_OK)
    end
    if status >= 300 then
        -- nginx's own error page for that status, as api7's module does.
        return ngx_exit(status)
    end
    ngx_header["Content-Length"] = 0
    ngx_send_headers()
    return ngx_exit(HTTP_OK)
end

local function call(ctx, phase, body, eof, what)
    if type(ctx) ~= "cdata" then
        return nil, "bad plugin ctx"
    end
    local r = get_request()
    -- init_worker_by_lua runs with a fake request that has no connection to answer on.
    if not r or NO_REQUEST_PHASES[get_phase()] then
        return nil, "no request found"
    end
    local rc = C.ngx_proxy_wasm_on_http(r, ctx, phase, body, body and #body or 0, eof and 1 or 0, result)
    if rc == ERROR then
        return nil, what
    end
    return rc
end

-- The plugin paused the request with nothing pending: wait (the request sleeps, the worker does not) until
-- another callback continues it (true) or closes it (the connection is dropped), or `_M.pause_timeout` passes
-- (nil, err; the plugin is finished for the request).
local function wait_paused(ctx, what)
    local r = get_request()
    local deadline = ngx.now() + _M.pause_timeout
    local delay = 0.001
    while true do
        ngx.sleep(delay)
        local state = C.ngx_proxy_wasm_pause_state(r, ctx, 0)
        if state == 1 then
            return true
        end
        if state == 2 then
            return ngx_exit(HTTP_CLOSE)
        end
        if state ~= 0 then
            return nil, what
        end
        if ngx.now() >= deadline then
            C.ngx_proxy_wasm_pause_state(r, ctx, 1)
            return nil, what
        end
        if delay < 0.008 then
            delay = delay * 2
        end
    end
end

-- After a request-phase callback: perform the HTTP calls it dispatched (the request waits, the worker does not),
-- delivering each response to the plugin. Returns true to go on, or nil, err.
local function after_request_callback(ctx)
    if result[0].calls == 0 then
        return true
    end
    return run_calls(get_request(), ctx)
end

function _M.on_http_request_headers(ctx)
    local rc, err = call(ctx, PHASE_REQUEST_HEADERS, nil, false, "failed to run proxy_on_http_request_headers")
    if not rc then
        return nil, err
    end
    if rc == LOCAL_RESPONSE then
        return send_local_response()
    end
    if rc == CLOSE then
        return ngx_exit(HTTP_CLOSE)
    end
    if rc == PAUSE then
        return wait_paused(ctx, "failed to run proxy_on_http_request_headers")
    end
    return after_request_callback(ctx)
end

local REQUEST_CHUNKS = "proxy-wasm.request_chunks"

-- What a plugin made of the request body replaces the body nginx passes on (proxy_set_buffer_bytes). Fed in one
-- call, the changed chunk is the body; fed in several (eof false until the last), the chunks are kept per plugin
-- ctx as the plugin left them, and at the last one the body becomes all of them when the plugin changed any.
local function keep_request_body(ctx, body, eof, changed)
    local all = ngx.ctx[REQUEST_CHUNKS]
    local mine = all and all[ctx]
    if eof and not mine then
        if changed then
            ngx.req.set_body_data(changed)
        end
        return
    end
    if not mine then
        all = all or {}
        mine = { changed = false }
        all[ctx] = mine
        ngx.ctx[REQUEST_CHUNKS] = all
    end
    mine[#mine + 1] = changed or body or ""
    mine.changed = mine.changed or changed ~= nil
    if eof then
        all[ctx] = nil
        if mine.changed then
            ngx.req.set_body_data(table.concat(mine))
        end
    end
end

function _M.on_http_request_body(ctx, body, eof)
    if body ~= nil and type(body) ~= "string" then
        return nil, "bad body"
    end
    local rc, err = call(ctx, PHASE_REQUEST_BODY, body, eof, "failed to run proxy_on_http_request_body")
    if not rc then
        return nil, err
    end
    if rc == LOCAL_RESPONSE then
        return send_local_response()
    end
    if rc == CLOSE then
        return ngx_exit(HTTP_CLOSE)
    end
    if rc == PAUSE then
        return wait_paused(ctx, "failed to run proxy_on_http_request_body")
    end
    local calls = result[0].calls > 0
    local changed
    if rc == BODY then
        local res = result[0]
        changed = ffi_string(res.body, res.body_len)
    end
    keep_request_body(ctx, body, eof, changed)
    if calls then
        return run_calls(get_request(), ctx)
    end
    return true
end

-- ngx.ctx key of a local response body sent from proxy_on_response_headers: the string until the body filter
-- sent it, then false (the rest of the original body is dropped).
local LOCAL_BODY = "proxy-wasm.local_body"

function _M.on_http_response_headers(ctx)
    local rc, err = call(ctx, PHASE_RESPONSE_HEADERS, nil, false, "failed to run proxy_on_http_response_headers")
    if not rc then
        return nil, err
    end
    if rc == CLOSE then
        return nil, "stream closed by the plugin"
    end
    if rc == LOCAL_RESPONSE then
        -- The C side replaced the status and headers; the body goes out through on_http_response_body (with an
        -- empty body the response is header-only).
        local res = result[0]
        if res.body_len > 0 then
            ngx.ctx[LOCAL_BODY] = ffi_string(res.body, res.body_len)
        end
    end
    return true
end

function _M.on_http_response_body(ctx)
    local pending = ngx.ctx[LOCAL_BODY]
    if pending ~= nil then
        -- A local response replaced this response: its body instead of the original chunks.
        if pending then
            ngx.arg[1] = pending
            ngx.arg[2] = true
            ngx.ctx[LOCAL_BODY] = false
        else
            ngx.arg[1] = nil
        end
        return true
    end
    local rc, err = call(ctx, PHASE_RESPONSE_BODY, ngx.arg[1], ngx.arg[2],
                         "failed to run proxy_on_http_response_body")
    if not rc then
        return nil, err
    end
    if rc == CLOSE then
        return nil, "stream closed by the plugin"
    end
    if rc == BODY then
        local res = result[0]
        ngx.arg[1] = ffi_string(res.body, res.body_len)
    end
    return true
end

-- Shared data, queues and metrics are kept by the module in memory shared by all workers; plugins reach them
-- through the Proxy-Wasm ABI, Lua through the functions below (the same keys and the same values).

local FOUND = 0
local NOT_FOUND = 1
local CAS_MISMATCH = 2
local out_ptr = ffi.new("const unsigned char *[1]")
local out_len = ffi.new("size_t[1]")
local out_cas = ffi.new("uint32_t[1]")
local out_i64 = ffi.new("int64_t[1]")

-- The value of a shared-data key and its cas; nil when the key is absent; nil and an error on failure.
function _M.get_shared_data(key)
    if type(key) ~= "string" then
        return nil, "bad key"
    end
    local rc = C.ngx_proxy_wasm_shared_get(key, #key, out_ptr, out_len, out_cas)
    if rc == FOUND then
        return ffi_string(out_ptr[0], out_len[0]), tonumber(out_cas[0])
    end
    if rc == NOT_FOUND then
        return nil
    end
    return nil, "failed to get shared data"
end

-- Store a value (a string); with a cas, only if the key still has that cas. true, or false and "cas mismatch",
-- or nil and an error.
function _M.set_shared_data(key, value, cas)
    if type(key) ~= "string" then
        return nil, "bad key"
    end
    if type(value) ~= "string" then
        return nil, "bad value"
    end
    if cas ~= nil and (type(cas) ~= "number" or cas < 0 or cas > 4294967295) then
        return nil, "bad cas"
    end
    local rc = C.ngx_proxy_wasm_shared_set(key, #key, value, #value, cas or 0)
    if rc == FOUND then
        return true
    end
    if rc == CAS_MISMATCH then
        return false, "cas mismatch"
    end
    return nil, "failed to set shared data"
end

-- Remove a key: true when it existed, false when it did not.
function _M.delete_shared_data(key)
    if type(key) ~= "string" then
        return nil, "bad key"
    end
    local rc = C.ngx_proxy_wasm_shared_delete(key, #key)
    if rc == FOUND then
        return true
    end
    if rc == NOT_FOUND then
        return false
    end
    return nil, "failed to delete shared data"
end

-- The value of a plugin metric (a histogram's sample count), summed over all workers.
function _M.get_metric(name)
    if type(name) ~= "string" then
        return nil, "bad name"
    end
    local rc = C.ngx_proxy_wasm_metric(name, #name, out_i64)
    if rc == FOUND then
        return tonumber(out_i64[0])
    end
    if rc == NOT_FOUND then
        return nil, "not found"
    end
    return nil, "failed to read metrics"
end

-- Every plugin metric in the Prometheus text format.
function _M.metrics()
    if C.ngx_proxy_wasm_metrics_text(out_ptr, out_len) ~= FOUND then
        return nil, "failed to read metrics"
    end
    return ffi_string(out_ptr[0], out_len[0])
end

-- Foreign functions: Lua functions a plugin calls by name with proxy_call_foreign_function. The function gets the
-- plugin's argument bytes as a string and returns a string (the result) or raises an error (the plugin gets
-- InternalFailure, the log says why). It runs inside the plugin's call: it must not yield (no cosockets, no
-- ngx.sleep). Because a LuaJIT callback cannot run under a compiled trace, registering one turns the JIT off
-- for this module's functions that enter plugins.
local foreign = {}
local foreign_result -- keeps the last result alive until the C side has copied it
local foreign_jit_off = false

function _M.register_foreign_function(name, fn)
    if type(name) ~= "string" or name == "" then
        return nil, "bad name"
    end
    if fn ~= nil and type(fn) ~= "function" then
        return nil, "bad function"
    end
    local cb = nil
    if fn then
        cb = ffi_cast("ngx_proxy_wasm_foreign_fn", function(args, len, out, out_len)
            local ok, res = pcall(fn, ffi_string(args, len))
            if not ok then
                ngx_log(ngx_ERR, "foreign function \"", name, "\" failed: ", res)
                return -1
            end
            if type(res) ~= "string" then
                ngx_log(ngx_ERR, "foreign function \"", name, "\" returned a ", type(res), ", not a string")
                return -1
            end
            foreign_result = res
            out[0] = res
            out_len[0] = #res
            return 0
        end)
        if not foreign_jit_off then
            foreign_jit_off = true
            for _, f in ipairs({ _M.load, _M.on_configure, run_calls, call }) do
                jit.off(f)
            end
            jit.flush()
        end
    end
    C.ngx_proxy_wasm_register_foreign_function(name, #name, cb)
    if foreign[name] then
        foreign[name]:free()
    end
    foreign[name] = cb
    return true
end

return _M
