-- wasm_gateway.wasm: turn a declared Proxy-Wasm plugin into a wasm_gateway plugin module, with the behaviour
-- of Apache APISIX's Wasm layer (apisix/wasm.lua) over resty.proxy-wasm:
--
-- * a declaration is { name, priority, file, http_request_phase = "access" (default) | "rewrite" };
-- * the route's plugin conf is { conf = "<non-empty string>" } or { conf = <table> } (encoded to JSON once, when
--   the route is set);
-- * the plugin ctx (wasm.on_configure) is created on the first request that needs it and cached on the route's
--   prepared conf, so it lives exactly as long as that route: replacing or deleting the route lets the GC free it
--   (live_ctxs() counts the ctxs alive, and each release is logged at info);
-- * on_http_request_headers runs in the declared request phase; a failure answers 503 and logs
--   `wasm_gateway: NAME: failed to ...: ERR`;
-- * when the plugin set the nginx variable $wasm_process_req_body (proxy_set_property) to a non-empty value, the
--   request body is read and given to on_http_request_body(ctx, body, true); the variable is reset first so the
--   next Wasm plugin of the route starts clean;
-- * header_filter runs on_http_response_headers; when the plugin set $wasm_process_resp_body, body_filter runs
--   on_http_response_body for that plugin on every chunk.
--
-- Locations that let plugins use the body flags declare both variables: `set $wasm_process_req_body '';` and
-- `set $wasm_process_resp_body '';` (APISIX predefines them in its nginx.conf template).

local ffi = require("ffi")
local cjson = require("cjson.safe")
local proxy_wasm = require("resty.proxy-wasm")

local ngx = ngx
local ngx_var = ngx.var
local ngx_log = ngx.log
local ngx_req = ngx.req
local ERR = ngx.ERR
local INFO = ngx.INFO
local type = type
local tostring = tostring
local io_open = io.open
local ffi_gc = ffi.gc
local ffi_new = ffi.new
local encode_json = cjson.encode
local on_configure = proxy_wasm.on_configure
local on_http_request_headers = proxy_wasm.on_http_request_headers
local on_http_request_body = proxy_wasm.on_http_request_body
local on_http_response_headers = proxy_wasm.on_http_response_headers
local on_http_response_body = proxy_wasm.on_http_response_body

local _M = {}

-- Plugin ctxs alive in this worker (created by on_configure, not yet collected).
local live = 0

function _M.live_ctxs()
    return live
end

-- A GC sentinel kept next to each plugin ctx: both become garbage together, when the prepared route does.
local function new_guard(name, route_id)
    live = live + 1
    return ffi_gc(ffi_new("char[1]"), function()
        live = live - 1
        ngx_log(INFO, "wasm_gateway: freed the plugin ctx of wasm plugin \"", name, "\" (route \"", route_id,
                "\"), ", live, " left")
    end)
end

-- The route's prepared conf is { conf = <string>, route_id = <id> }, plus, once configured, `plugin_ctx` and
-- `guard` (or `configure_err` when on_configure refused the conf: a failure is cached like a success, so a bad
-- conf costs one on_configure per route, not one per request).
local function fetch_plugin_ctx(mod, conf)
    local plugin_ctx = conf.plugin_ctx
    if plugin_ctx then
        return plugin_ctx
    end
    local err = conf.configure_err
    if err then
        return nil, err
    end
    plugin_ctx, err = on_configure(mod.plugin, conf.conf)
    if not plugin_ctx then
        conf.configure_err = err
        return nil, err
    end
    conf.plugin_ctx = plugin_ctx
    conf.guard = new_guard(mod.name, conf.route_id)
    return plugin_ctx
end

-- The request body as APISIX's core.request.get_body gives it: memory or the temp file; nil when empty.
local function read_body()
    ngx_req.read_body()
    local body = ngx_req.get_body_data()
    if body then
        return body
    end
    local path = ngx_req.get_body_file()
    if not path then
        return nil
    end
    local f, err = io_open(path, "rb")
    if not f then
        return nil, err
    end
    body, err = f:read("*a")
    f:close()
    if not body then
        return nil, err
    end
    return body
end

local function http_request(mod, conf)
    local name = mod.name
    local plugin_ctx, err = fetch_plugin_ctx(mod, conf)
    if not plugin_ctx then
        ngx_log(ERR, "wasm_gateway: ", name, ": failed to fetch wasm plugin ctx: ", err)
        return 503
    end

    local ok
    ok, err = on_http_request_headers(plugin_ctx)
    if not ok then
        ngx_log(ERR, "wasm_gateway: ", name, ": failed to run wasm plugin: ", err)
        return 503
    end

    -- nil when the location did not declare the variable: no body processing then.
    local flag = ngx_var.wasm_process_req_body
    if flag and flag ~= "" then
        ngx_var.wasm_process_req_body = ""
        local body
        body, err = read_body()
        if err then
            ngx_log(ERR, "wasm_gateway: ", name, ": failed to read the request body: ", err)
            return 503
        end
        ok, err = on_http_request_body(plugin_ctx, body, true)
        if not ok then
            ngx_log(ERR, "wasm_gateway: ", name, ": failed to run wasm plugin: ", err)
            return 503
        end
    end
end

local function header_filter(mod, conf, api_ctx)
    local name = mod.name
    if conf.configure_err then
        -- on_configure refused this conf: logged where it happened, and by each request phase since.
        return
    end
    local plugin_ctx, err = fetch_plugin_ctx(mod, conf)
    if not plugin_ctx then
        ngx_log(ERR, "wasm_gateway: ", name, ": failed to fetch wasm plugin ctx: ", err)
        return
    end

    local ok
    ok, err = on_http_response_headers(plugin_ctx)
    if not ok then
        ngx_log(ERR, "wasm_gateway: ", name, ": failed to run wasm plugin: ", err)
        return
    end

    local flag = ngx_var.wasm_process_resp_body
    if flag and flag ~= "" then
        ngx_var.wasm_process_resp_body = ""
        api_ctx[mod.resp_body_key] = true
    end
end

local function body_filter(mod, conf, api_ctx)
    if not api_ctx[mod.resp_body_key] then
        return
    end
    local plugin_ctx = conf.plugin_ctx
    if not plugin_ctx then
        return
    end
    local ok, err = on_http_response_body(plugin_ctx)
    if not ok then
        ngx_log(ERR, "wasm_gateway: ", mod.name, ": failed to run wasm plugin: ", err)
    end
end

-- Route conf check, as APISIX's schema: `conf` is required, a non-empty string or an object.
local function check_schema(conf)
    if type(conf) ~= "table" then
        return nil, "the plugin conf must be an object with a \"conf\" field"
    end
    local c = conf.conf
    local t = type(c)
    if t == "string" then
        if c == "" then
            return nil, "\"conf\" must not be empty"
        end
        return true
    end
    if t == "table" then
        return true
    end
    if c == nil then
        return nil, "\"conf\" is required"
    end
    return nil, "\"conf\" must be a string or an object, got " .. t
end

-- The per-route conf the phases receive (the ctx cache lives on it).
local function prepare_conf(conf, route_id)
    local c = conf.conf
    if type(c) == "table" then
        local err
        c, err = encode_json(c)
        if not c then
            return nil, "cannot encode \"conf\" to JSON: " .. tostring(err)
        end
    end
    return { conf = c, route_id = route_id }
end

-- attrs: { name, priority, file, http_request_phase }; `path` is `file` resolved by the caller.
function _M.new(attrs, path)
    local name = attrs.name
    local phase = attrs.http_request_phase or "access"
    if phase ~= "access" and phase ~= "rewrite" then
        return nil, "http_request_phase must be \"access\" or \"rewrite\", got \"" .. tostring(phase) .. "\""
    end
    local plugin, err = proxy_wasm.load(name, path)
    if not plugin then
        return nil, err
    end

    local mod = {
        name = name,
        priority = attrs.priority,
        type = "wasm",
        file = path,
        http_request_phase = phase,
        plugin = plugin,
        resp_body_key = "wasm_" .. name .. "_process_resp_body",
        check_schema = check_schema,
        prepare_conf = prepare_conf,
    }
    mod[phase] = function(conf)
        return http_request(mod, conf)
    end
    mod.header_filter = function(conf, api_ctx)
        return header_filter(mod, conf, api_ctx)
    end
    mod.body_filter = function(conf, api_ctx)
        return body_filter(mod, conf, api_ctx)
    end
    return mod
end

return _M
