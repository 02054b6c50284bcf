-- wasm_gateway: a small APISIX-style plugin runner for OpenResty / lua-nginx-module, running Proxy-Wasm plugins
-- (through resty.proxy-wasm, as APISIX's Wasm layer does) and native Lua plugins side by side on URI routes.
--
--   local gw = require("wasm_gateway")
--   assert(gw.configure_file("/path/to/gateway.json"))   -- init_by_lua (Wasm compiled once, in the master, and
--                                                        -- shared by the workers) or init_worker_by_lua (per
--                                                        -- worker, as APISIX does)
--   gw.rewrite() / gw.access() / gw.header_filter() / gw.body_filter() / gw.log()   -- the phase hooks
--
-- Declarations (a Lua table, or the same as JSON in a file; the shape of APISIX's config.yaml and routes):
--
--   {
--     "wasm": { "plugins": [ { "name": "wasm_fault_injection", "priority": 7997,
--                              "file": "fault_injection.wasm", "http_request_phase": "access" } ] },
--     "plugins": [ "fault-injection" ],            -- Lua plugins: wasm_gateway.plugins.<name>, or {name, module}
--     "routes": [ { "id": "1", "uri": "/wasm",      -- exact, or a prefix with a trailing "*": "/api/*"
--                   "plugins": { "wasm_fault_injection": { "conf": "{\"http_status\":200}" },
--                                "fault-injection": { "abort": { "http_status": 403 } } } } ]
--   }
--
-- Wasm `file` paths are relative to the declaring file's directory (configure_file) or to opts.base (configure).
-- A Wasm plugin's conf is a non-empty string, or an object encoded to JSON once when the route is set.
--
-- YAML (files named *.yaml or *.yml; any other name is read as JSON), parsed by lyaml (libyaml; Debian package
-- lua-yaml), in the shapes of the APISIX Wasm announcement:
--
--   gw.configure_file("config.yaml")     -- APISIX's config.yaml: one mapping document; other sections (apisix:,
--                                        -- deployment:, ...) are ignored
--       plugins:
--         - fault-injection
--       wasm:
--           plugins:
--               - name: wasm_fault_injection
--                 priority: 7997
--                 file: fault_injection.wasm
--
--   gw.set_routes_file("routes.yaml")    -- the routes: one route per document, as the article lists them (a
--                                        -- document that is a list holds several routes)
--       ---
--       uri: "/wasm"
--       plugins:
--         wasm_fault_injection:
--           conf: '{"body":"hello world", "http_status":200}'
--
-- A YAML null (`~`, an empty value) is an absent field. set_routes_file also reads JSON: an array of routes.
--
-- Per request: the route is matched on $uri (exact first, then the longest prefix; none: 404 with
-- {"error_msg":"404 Route Not Found"}), then every phase runs the route's plugins that have a handler for it,
-- highest priority first (ties: by name). A rewrite/access handler that returns (status[, body]) ends the request
-- with that answer, as APISIX's plugins do. Handlers are `function(conf, api_ctx)`; api_ctx is per request:
-- { var = ngx.var, route = <prepared route>, route_id = <id> }.
--
-- Runtime updates (this worker only): set_routes(list), put_route(route), delete_route(id). A replaced route's
-- Wasm plugin ctxs are freed by the GC once no request uses them; live_plugin_ctxs() counts the live ones.
--
-- The locations declare `set $wasm_process_req_body ''; set $wasm_process_resp_body '';` when their Wasm plugins
-- may ask for the bodies (see wasm_gateway/wasm.lua).

local cjson = require("cjson.safe")
local wasm_plugin = require("wasm_gateway.wasm")

local ngx = ngx
local ngx_var = ngx.var
local ngx_log = ngx.log
local ngx_print = ngx.print
local ngx_exit = ngx.exit
local ngx_header = ngx.header
local ngx_send_headers = ngx.send_headers
local ERR = ngx.ERR
local HTTP_OK = ngx.HTTP_OK
local type = type
local pairs = pairs
local ipairs = ipairs
local tostring = tostring
local require = require
local pcall = pcall
local rawget = rawget
local rawset = rawset
local str_sub = string.sub
local str_byte = string.byte
local str_format = string.format
local tbl_sort = table.sort
local next = next
local io_open = io.open
local math_floor = math.floor

local _M = { version = "0.1.0" }

local CTX_KEY = "wasm_gateway"
local NOT_FOUND_BODY = '{"error_msg":"404 Route Not Found"}\n'
local PHASES = { "rewrite", "access", "header_filter", "body_filter", "log" }

local registry = {}         -- plugin name -> plugin module (Wasm or Lua)
local routes = {}           -- prepared routes, in declaration order
local exact = {}            -- uri -> prepared route
local prefixes = {}         -- { prefix, route, prefix, route, ... }, longest prefix first
local n_prefixes = 0

-- A table whose keys are 1..n (an empty table is one): a JSON array, a YAML sequence.
local function is_list(t)
    if type(t) ~= "table" then
        return false
    end
    local n = 0
    for _ in pairs(t) do
        n = n + 1
    end
    return n == #t
end

---------------------------------------------------------------------------------------------------------------
-- Plugins

-- Add a plugin module: { name, priority, check_schema?, prepare_conf?, rewrite?, access?, header_filter?,
-- body_filter?, log? } (phase handlers take (conf, api_ctx)).
function _M.register(mod)
    if type(mod) ~= "table" then
        return nil, "a plugin module must be a table"
    end
    local name = mod.name
    if type(name) ~= "string" or name == "" then
        return nil, "a plugin needs a non-empty string name"
    end
    if type(mod.priority) ~= "number" or mod.priority ~= math_floor(mod.priority) then
        return nil, str_format("plugin %q: priority must be an integer", name)
    end
    if registry[name] then
        return nil, str_format("plugin %q is already registered", name)
    end
    for _, phase in ipairs(PHASES) do
        if mod[phase] ~= nil and type(mod[phase]) ~= "function" then
            return nil, str_format("plugin %q: %s must be a function", name, phase)
        end
    end
    registry[name] = mod
    return true
end

function _M.plugin(name)
    return registry[name]
end

local function is_absolute(path)
    return str_byte(path, 1) == 47 -- "/"
end

-- Load one Wasm plugin declaration (APISIX config.yaml `wasm.plugins` entry) and register it.
function _M.load_wasm_plugin(attrs, base)
    if type(attrs) ~= "table" then
        return nil, "a wasm plugin declaration must be an object"
    end
    local name, priority, file = attrs.name, attrs.priority, attrs.file
    if type(name) ~= "string" or name == "" then
        return nil, "a wasm plugin declaration needs a non-empty string name"
    end
    if type(priority) ~= "number" or priority ~= math_floor(priority) then
        return nil, str_format("wasm plugin %q: priority must be an integer", name)
    end
    if type(file) ~= "string" or file == "" then
        return nil, str_format("wasm plugin %q: file must be a non-empty string", name)
    end
    if registry[name] then
        return nil, str_format("plugin %q is already registered", name)
    end
    local path = file
    if base and base ~= "" and not is_absolute(file) then
        path = base .. "/" .. file
    end
    local mod, err = wasm_plugin.new(attrs, path)
    if not mod then
        return nil, str_format("wasm plugin %q (%s): %s", name, path, tostring(err))
    end
    registry[name] = mod
    return mod
end

-- A Lua plugin by name (module wasm_gateway.plugins.<name>) or { name = ..., module = ... }.
function _M.load_lua_plugin(decl)
    local name, module
    if type(decl) == "string" then
        name, module = decl, "wasm_gateway.plugins." .. decl
    elseif type(decl) == "table" then
        name, module = decl.name, decl.module or ("wasm_gateway.plugins." .. tostring(decl.name))
    end
    if type(name) ~= "string" or name == "" then
        return nil, "a Lua plugin declaration is a name or { name, module }"
    end
    local ok, mod = pcall(require, module)
    if not ok then
        return nil, str_format("Lua plugin %q: cannot require %q: %s", name, module, tostring(mod))
    end
    if type(mod) ~= "table" or mod.name ~= name then
        return nil, str_format("Lua plugin %q: module %q is not a plugin named %q", name, module, name)
    end
    local err
    ok, err = _M.register(mod)
    if not ok then
        return nil, err
    end
    return mod
end

---------------------------------------------------------------------------------------------------------------
-- Routes

local function by_priority(a, b)
    local pa, pb = a.mod.priority, b.mod.priority
    if pa ~= pb then
        return pa > pb
    end
    return a.mod.name < b.mod.name
end

-- Validate a route and build what requests need: per phase a flat list { handler, conf, handler, conf, ... }.
local function prepare_route(route, index)
    if type(route) ~= "table" then
        return nil, str_format("route #%d: must be an object", index)
    end
    local uri = route.uri
    if type(uri) ~= "string" or str_byte(uri, 1) ~= 47 then
        return nil, str_format("route #%d: uri must be a string starting with \"/\"", index)
    end
    local id = route.id
    if id == nil then
        id = uri
    elseif type(id) ~= "string" and type(id) ~= "number" then
        return nil, str_format("route #%d (%s): id must be a string or a number", index, uri)
    end
    id = tostring(id)
    local plugins = route.plugins
    if plugins == nil then
        plugins = {}
    elseif type(plugins) ~= "table" then
        return nil, str_format("route %q: plugins must be an object", id)
    end

    local list = {}
    for name, conf in pairs(plugins) do
        local mod = registry[name]
        if not mod then
            return nil, str_format("route %q: unknown plugin %q", id, tostring(name))
        end
        if mod.check_schema then
            local ok, err = mod.check_schema(conf)
            if not ok then
                return nil, str_format("route %q: plugin %q: %s", id, name, tostring(err))
            end
        end
        if mod.prepare_conf then
            local err
            conf, err = mod.prepare_conf(conf, id)
            if not conf then
                return nil, str_format("route %q: plugin %q: %s", id, name, tostring(err))
            end
        end
        list[#list + 1] = { mod = mod, conf = conf }
    end
    tbl_sort(list, by_priority)

    local prepared = { id = id, uri = uri, source = route, plugins = list }
    local names = {}
    for i, p in ipairs(list) do
        names[i] = p.mod.name
    end
    prepared.plugin_names = names
    for _, phase in ipairs(PHASES) do
        local handlers = {}
        for _, p in ipairs(list) do
            local h = p.mod[phase]
            if h then
                handlers[#handlers + 1] = h
                handlers[#handlers + 1] = p.conf
            end
        end
        prepared[phase] = handlers
    end
    if str_byte(uri, -1) == 42 then -- "*"
        prepared.prefix = str_sub(uri, 1, -2)
    end
    return prepared
end

local function by_prefix_length(a, b)
    return #a.prefix > #b.prefix
end

local function rebuild_index(list)
    local new_exact, pre = {}, {}
    for _, r in ipairs(list) do
        if r.prefix then
            pre[#pre + 1] = r
        elseif not new_exact[r.uri] then -- the first route declared for a uri wins
            new_exact[r.uri] = r
        end
    end
    tbl_sort(pre, by_prefix_length)
    local flat = {}
    for i, r in ipairs(pre) do
        flat[2 * i - 1] = r.prefix
        flat[2 * i] = r
    end
    routes, exact, prefixes, n_prefixes = list, new_exact, flat, #flat
end

local function check_unique_ids(list)
    local seen = {}
    for _, r in ipairs(list) do
        if seen[r.id] then
            return nil, str_format("route %q: duplicate id", r.id)
        end
        seen[r.id] = true
    end
    return true
end

-- Replace every route (all or nothing). opts.skip_bad: log and leave out bad routes instead of failing.
function _M.set_routes(list, opts)
    if not is_list(list) then
        return nil, "routes must be an array"
    end
    local skip_bad = opts and opts.skip_bad
    local prepared = {}
    for i, route in ipairs(list) do
        local r, err = prepare_route(route, i)
        if r then
            prepared[#prepared + 1] = r
        elseif skip_bad then
            ngx_log(ERR, "wasm_gateway: route left out: ", err)
        else
            return nil, err
        end
    end
    local ok, err = check_unique_ids(prepared)
    if not ok then
        return nil, err
    end
    rebuild_index(prepared)
    return true
end

-- Add a route, or replace the route with the same id (the uri when it has no id).
function _M.put_route(route)
    local r, err = prepare_route(route, #routes + 1)
    if not r then
        return nil, err
    end
    local list, replaced = {}, false
    for _, old in ipairs(routes) do
        if old.id == r.id then
            list[#list + 1] = r
            replaced = true
        else
            list[#list + 1] = old
        end
    end
    if not replaced then
        list[#list + 1] = r
    end
    rebuild_index(list)
    return true
end

function _M.delete_route(id)
    id = tostring(id)
    local list, found = {}, false
    for _, old in ipairs(routes) do
        if old.id == id then
            found = true
        else
            list[#list + 1] = old
        end
    end
    if not found then
        return nil, str_format("no route %q", id)
    end
    rebuild_index(list)
    return true
end

-- The prepared routes (read only): { id, uri, source, plugin_names, ... }.
function _M.routes()
    return routes
end

function _M.match(uri)
    local r = exact[uri]
    if r then
        return r
    end
    for i = 1, n_prefixes, 2 do
        local prefix = prefixes[i]
        if str_sub(uri, 1, #prefix) == prefix then
            return prefixes[i + 1]
        end
    end
    return nil
end

-- Plugin ctxs of Wasm plugins alive in this worker (call collectgarbage() first to count only reachable ones).
function _M.live_plugin_ctxs()
    return wasm_plugin.live_ctxs()
end

---------------------------------------------------------------------------------------------------------------
-- Declarations

local function dirname(path)
    local dir = path:match("^(.*)/[^/]*$")
    if dir == nil then
        return "."
    end
    if dir == "" then
        return "/"
    end
    return dir
end

-- config: { wasm = { plugins = {...} }, plugins = {...}, routes = {...} }.
-- opts.base: directory for relative Wasm files; opts.skip_bad: log and skip a plugin that does not load and a
-- route that does not validate (so one missing .wasm does not take every route down), instead of failing.
function _M.configure(config, opts)
    if type(config) ~= "table" then
        return nil, "the configuration must be an object"
    end
    local base = opts and opts.base
    local skip_bad = opts and opts.skip_bad

    local lua_plugins = config.plugins
    if lua_plugins ~= nil and not is_list(lua_plugins) then
        return nil, "\"plugins\" must be an array of Lua plugin names"
    end
    for _, decl in ipairs(lua_plugins or {}) do
        local ok, err = _M.load_lua_plugin(decl)
        if not ok then
            if not skip_bad then
                return nil, err
            end
            ngx_log(ERR, "wasm_gateway: plugin left out: ", err)
        end
    end

    local wasm = config.wasm
    if wasm ~= nil and (type(wasm) ~= "table" or (wasm.plugins ~= nil and not is_list(wasm.plugins))) then
        return nil, "\"wasm\" must be an object with a \"plugins\" array"
    end
    for _, attrs in ipairs(wasm and wasm.plugins or {}) do
        local ok, err = _M.load_wasm_plugin(attrs, base)
        if not ok then
            if not skip_bad then
                return nil, err
            end
            ngx_log(ERR, "wasm_gateway: plugin left out: ", err)
        end
    end

    local list = config.routes
    if list == nil then
        return true
    end
    return _M.set_routes(list, opts)
end

-- Reading declaration files.

local function read_file(path)
    local f, err = io_open(path, "rb")
    if not f then
        return nil, err
    end
    local text
    text, err = f:read("*a")
    f:close()
    if not text then
        return nil, str_format("%s: %s", path, tostring(err))
    end
    return text
end

local function is_yaml_path(path)
    local ext = path:match("%.([^./]+)$")
    ext = ext and ext:lower()
    return ext == "yaml" or ext == "yml"
end

-- lyaml is loaded on the first YAML file only, so JSON declarations do not need it.
local lyaml

local function load_lyaml()
    if lyaml then
        return lyaml
    end
    -- lyaml's C part (module "yaml", Lua 5.1 build) also registers itself as the global `yaml` (luaL_register),
    -- which lua-nginx-module reports as a global write when that happens in a request. Creating the global
    -- first (rawset) lets the module fill that table: the same result, without the warning.
    local seeded
    if package.loaded.yaml == nil and rawget(_G, "yaml") == nil then
        seeded = {}
        rawset(_G, "yaml", seeded)
    end
    local ok, mod = pcall(require, "lyaml")
    if not ok then
        if seeded and rawget(_G, "yaml") == seeded and next(seeded) == nil then
            rawset(_G, "yaml", nil)
        end
        return nil, "reading YAML needs the lyaml module (Debian package lua-yaml): " .. tostring(mod)
    end
    lyaml = mod
    return mod
end

-- lyaml reports a syntax error at the last event it parsed and drops libyaml's own position; libyaml's message
-- (problem, position, context) is found again by running its parser alone over the text.
local function yaml_syntax_error(text, lyaml_err)
    local ok, yaml = pcall(require, "yaml")
    local next_event
    if ok then
        ok, next_event = pcall(yaml.parser, text)
    end
    while ok do
        local event
        ok, event = pcall(next_event)
        if not ok then
            local msg = tostring(event)
            local problem, line, col, rest = msg:match("^(.-) at document: %d+, line: (%d+), column: (%d+)(.*)$")
            if problem then
                msg = str_format("line %s, column %s: %s", line, col, problem)
                local context, cline, ccol = rest:match("^%s*(.-) at line: (%d+), column: (%d+)%s*$")
                if context and context ~= "" then
                    msg = str_format("%s (%s at line %s, column %s)", msg, context, cline, ccol)
                end
                return msg
            end
            break
        end
        if event == nil or tostring(event.type) == "STREAM_END" then
            break
        end
    end
    -- lyaml's own errors (an unknown alias, a bad merge, a bad tagged value): "LINE:COL: message".
    local msg = tostring(lyaml_err):gsub("%s+", " ")
    local line, col, rest = msg:match("^(%d+):(%d+): (.*)$")
    if line then
        return str_format("line %s, column %s: %s", line, col, rest)
    end
    return msg
end

-- A YAML null (lyaml.null) becomes an absent field; done in place, once per table (aliases may share tables).
local function drop_nulls(v, null, seen)
    if type(v) ~= "table" or seen[v] then
        return
    end
    seen[v] = true
    for k, x in pairs(v) do
        if x == null or k == null then
            v[k] = nil
        else
            drop_nulls(x, null, seen)
        end
    end
end

-- Every document of a YAML stream and their number, nulls dropped (a document that is null itself, such as an
-- empty one, is `false` in the list).
local function decode_yaml(path, text)
    local y, err = load_lyaml()
    if not y then
        return nil, str_format("%s: %s", path, err)
    end
    local ok, docs = pcall(y.load, text, { all = true })
    if not ok then
        return nil, str_format("%s: bad YAML: %s", path, yaml_syntax_error(text, docs))
    end
    local null, seen = y.null, {}
    local n = #docs
    for i = 1, n do
        if docs[i] == null then
            docs[i] = false
        else
            drop_nulls(docs[i], null, seen)
        end
    end
    return docs, n
end

-- The declarations of a file: JSON, or one YAML document (APISIX's config.yaml).
local function decode_config(path, text)
    if not is_yaml_path(path) then
        local config, err = cjson.decode(text)
        if config == nil then
            return nil, str_format("%s: bad JSON: %s", path, tostring(err))
        end
        return config
    end
    local docs, n = decode_yaml(path, text)
    if not docs then
        return nil, n
    end
    if n ~= 1 then
        return nil, str_format("%s: expected one YAML document (the shape of APISIX's config.yaml), found %d",
                               path, n)
    end
    local config = docs[1]
    if type(config) ~= "table" or (next(config) ~= nil and is_list(config)) then
        return nil, str_format("%s: the YAML document must be a mapping (wasm:, plugins:, routes:)", path)
    end
    return config
end

function _M.configure_file(path, opts)
    local text, err = read_file(path)
    if not text then
        return nil, err
    end
    local config
    config, err = decode_config(path, text)
    if not config then
        return nil, err
    end
    local o = { base = dirname(path) }
    if opts then
        for k, v in pairs(opts) do
            o[k] = v
        end
    end
    local ok
    ok, err = _M.configure(config, o)
    if not ok then
        return nil, str_format("%s: %s", path, tostring(err))
    end
    return true
end

-- Replace every route with those of a file (set_routes, same opts): YAML, one route per document as the
-- article lists them (`---` between them; a document that is a list holds several routes), or a JSON array.
function _M.set_routes_file(path, opts)
    local text, err = read_file(path)
    if not text then
        return nil, err
    end
    local list
    if is_yaml_path(path) then
        local docs, n = decode_yaml(path, text)
        if not docs then
            return nil, n
        end
        list = {}
        for i = 1, n do
            local doc = docs[i]
            if is_list(doc) and next(doc) ~= nil then
                for _, route in ipairs(doc) do
                    list[#list + 1] = route
                end
            elseif doc ~= false then -- an empty document (a stray `---`) holds no route
                list[#list + 1] = doc
            end
        end
    else
        list, err = cjson.decode(text)
        if list == nil then
            return nil, str_format("%s: bad JSON: %s", path, tostring(err))
        end
        if not is_list(list) then
            return nil, str_format("%s: the routes must be a JSON array", path)
        end
    end
    local ok
    ok, err = _M.set_routes(list, opts)
    if not ok then
        return nil, str_format("%s: %s", path, tostring(err))
    end
    return true
end

---------------------------------------------------------------------------------------------------------------
-- Phases

-- End the request as APISIX's core.response.exit does: the status, then the body when there is one (a table is
-- sent as JSON); without a body nginx's own page for an error status, an empty body otherwise.
local function respond(status, body)
    status = status or HTTP_OK
    ngx.status = status
    if type(body) == "table" then
        body = cjson.encode(body)
    end
    if body ~= nil and body ~= "" then
        ngx_print(body)
        return ngx_exit(HTTP_OK)
    end
    if status >= 300 then
        return ngx_exit(status)
    end
    ngx_header["Content-Length"] = 0
    ngx_send_headers()
    return ngx_exit(HTTP_OK)
end

local function api_ctx_of_request()
    local ngx_ctx = ngx.ctx
    local api_ctx = ngx_ctx[CTX_KEY]
    if api_ctx then
        return api_ctx
    end
    local route = _M.match(ngx_var.uri)
    api_ctx = { var = ngx_var, route = route, route_id = route and route.id }
    ngx_ctx[CTX_KEY] = api_ctx
    return api_ctx
end

local function run_request_phase(phase)
    local api_ctx = api_ctx_of_request()
    local route = api_ctx.route
    if not route then
        ngx_header["Content-Type"] = "application/json"
        return respond(404, NOT_FOUND_BODY)
    end
    local handlers = route[phase]
    for i = 1, #handlers, 2 do
        local status, body = handlers[i](handlers[i + 1], api_ctx)
        if status or body then
            return respond(status, body)
        end
    end
end

local function run_filter_phase(phase)
    local api_ctx = ngx.ctx[CTX_KEY]
    local route = api_ctx and api_ctx.route
    if not route then
        return
    end
    local handlers = route[phase]
    for i = 1, #handlers, 2 do
        handlers[i](handlers[i + 1], api_ctx)
    end
end

function _M.rewrite()
    return run_request_phase("rewrite")
end

function _M.access()
    return run_request_phase("access")
end

function _M.header_filter()
    return run_filter_phase("header_filter")
end

function _M.body_filter()
    return run_filter_phase("body_filter")
end

function _M.log()
    return run_filter_phase("log")
end

-- The per-request context (nil before the route was matched).
function _M.api_ctx()
    return ngx.ctx[CTX_KEY]
end

return _M
