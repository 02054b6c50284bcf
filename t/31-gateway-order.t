# wasm_gateway: the order plugins run in. Within a phase, the route's plugins run highest priority first, Wasm and
# Lua plugins alike; across phases, every rewrite handler runs before any access handler (a Wasm plugin declared
# with http_request_phase = "rewrite" runs before a higher-priority plugin's access handler). A plugin that
# answers ends the request: later plugins' request handlers do not run, header filters still do.
# Lua test plugins log "trace: NAME PHASE"; the hostcalls Wasm plugin logs its callbacks.
use Test::Nginx::Socket::Lua 'no_plan';

log_level('info');
no_shuffle();
no_root_location();
run_tests();

__DATA__

=== TEST 1: priority order across phases, Wasm and Lua plugins mixed on one route
--- http_config
    lua_package_path "lua/?.lua;;";
    init_by_lua_block {
        local gw = require("wasm_gateway")
        local function tracer(name, priority, phases)
            local mod = { name = name, priority = priority }
            for _, phase in ipairs(phases) do
                mod[phase] = function() ngx.log(ngx.INFO, "trace: ", name, " ", phase) end
            end
            return mod
        end
        assert(gw.register(tracer("lua_a", 3000, { "rewrite", "access", "header_filter" })))
        assert(gw.register(tracer("lua_b", 500, { "rewrite", "access", "header_filter" })))
        assert(gw.configure({
            wasm = { plugins = {
                { name = "wasm_w1", priority = 2000, file = "t/plugins/hostcalls.wasm" },
                { name = "wasm_w2", priority = 1000, file = "t/plugins/hostcalls.wasm", http_request_phase = "rewrite" },
            } },
            routes = { { uri = "/t", plugins = {
                lua_b = {}, wasm_w2 = { conf = "{}" }, lua_a = {}, wasm_w1 = { conf = "{}" },
            } } },
        }))
    }
--- config
    location / {
        rewrite_by_lua_block { require("wasm_gateway").rewrite() }
        access_by_lua_block { require("wasm_gateway").access() }
        header_filter_by_lua_block { require("wasm_gateway").header_filter() }
        body_filter_by_lua_block { require("wasm_gateway").body_filter() }
        content_by_lua_block { ngx.say("upstream") }
    }
--- request
GET /t
--- response_body
upstream
--- grep_error_log eval: qr/trace: \w+ \w+|wasm plugin "\w+": hostcalls: on_(?:request|response)_headers/
--- grep_error_log_out
trace: lua_a rewrite
wasm plugin "wasm_w2": hostcalls: on_request_headers
trace: lua_b rewrite
trace: lua_a access
wasm plugin "wasm_w1": hostcalls: on_request_headers
trace: lua_b access
trace: lua_a header_filter
wasm plugin "wasm_w1": hostcalls: on_response_headers
wasm plugin "wasm_w2": hostcalls: on_response_headers
trace: lua_b header_filter
--- no_error_log
[error]
[alert]
[crit]



=== TEST 2: access phase (default): a higher-priority Lua access handler runs first, its header is on the Wasm answer
--- http_config
    lua_package_path "lua/?.lua;;";
    init_by_lua_block {
        local gw = require("wasm_gateway")
        assert(gw.register({ name = "add_header", priority = 9000, access = function()
            ngx.log(ngx.INFO, "trace: add_header access")
            ngx.header["X-Lua-Plugin"] = "ran"
        end }))
        assert(gw.configure({
            wasm = { plugins = { { name = "wasm_fault_injection", priority = 7997,
                                   file = "t/plugins/fault_injection.wasm", http_request_phase = "access" } } },
            routes = { { uri = "/t", plugins = {
                add_header = {}, wasm_fault_injection = { conf = '{"body":"wasm in access\\n","http_status":200}' },
            } } },
        }))
    }
--- config
    location / {
        rewrite_by_lua_block { require("wasm_gateway").rewrite() }
        access_by_lua_block { require("wasm_gateway").access() }
        header_filter_by_lua_block { require("wasm_gateway").header_filter() }
        body_filter_by_lua_block { require("wasm_gateway").body_filter() }
        content_by_lua_block { ngx.say("upstream") }
    }
--- request
GET /t
--- response_headers
X-Lua-Plugin: ran
--- response_body
wasm in access
--- error_log
trace: add_header access
--- no_error_log
[error]
[alert]
[crit]



=== TEST 3: rewrite phase: the Wasm plugin answers before any access handler, whatever its priority
--- http_config
    lua_package_path "lua/?.lua;;";
    init_by_lua_block {
        local gw = require("wasm_gateway")
        assert(gw.register({ name = "add_header", priority = 9000, access = function()
            ngx.log(ngx.INFO, "trace: add_header access")
            ngx.header["X-Lua-Plugin"] = "ran"
        end }))
        assert(gw.configure({
            wasm = { plugins = { { name = "wasm_fault_injection", priority = 7997,
                                   file = "t/plugins/fault_injection.wasm", http_request_phase = "rewrite" } } },
            routes = { { uri = "/t", plugins = {
                add_header = {}, wasm_fault_injection = { conf = '{"body":"wasm in rewrite\\n","http_status":200}' },
            } } },
        }))
    }
--- config
    location / {
        rewrite_by_lua_block { require("wasm_gateway").rewrite() }
        access_by_lua_block { require("wasm_gateway").access() }
        header_filter_by_lua_block { require("wasm_gateway").header_filter() }
        body_filter_by_lua_block { require("wasm_gateway").body_filter() }
        content_by_lua_block { ngx.say("upstream") }
    }
--- request
GET /t
--- response_headers
! X-Lua-Plugin
--- response_body
wasm in rewrite
--- no_error_log
trace: add_header access
[error]
[alert]
[crit]



=== TEST 4: a higher-priority answer ends the chain: native fault-injection (11000) answers, the Wasm plugin (7997) runs only its response callback
--- http_config
    lua_package_path "lua/?.lua;;";
    init_by_lua_block {
        local gw = require("wasm_gateway")
        assert(gw.configure({
            plugins = { "fault-injection" },
            wasm = { plugins = { { name = "wasm_w", priority = 7997, file = "t/plugins/hostcalls.wasm",
                                   http_request_phase = "rewrite" } } },
            routes = {
                { uri = "/lua-first", plugins = {
                    ["fault-injection"] = { abort = { http_status = 403, body = "lua answered\n" } },
                    wasm_w = { conf = "{}" } } },
                { uri = "/lua-passes", plugins = {
                    ["fault-injection"] = { abort = { http_status = 403, body = "lua answered\n", percentage = 0 } },
                    wasm_w = { conf = [[{"on_request_headers": [{"op": "local_response", "status": 202, "body": "wasm answered\n"}]}]] } } },
            },
        }))
    }
--- config
    location / {
        rewrite_by_lua_block { require("wasm_gateway").rewrite() }
        access_by_lua_block { require("wasm_gateway").access() }
        header_filter_by_lua_block { require("wasm_gateway").header_filter() }
        body_filter_by_lua_block { require("wasm_gateway").body_filter() }
        content_by_lua_block { ngx.say("upstream") }
    }
--- request
GET /lua-first
--- error_code: 403
--- response_body
lua answered
--- grep_error_log eval: qr/hostcalls: on_(?:request|response)_headers(?= num)/
--- grep_error_log_out
hostcalls: on_response_headers
--- no_error_log
[error]
[alert]
[crit]



=== TEST 5: when the higher-priority native plugin passes, the Wasm plugin (7997) runs and its answer ends the chain
--- http_config
    lua_package_path "lua/?.lua;;";
    init_by_lua_block {
        local gw = require("wasm_gateway")
        assert(gw.configure({
            plugins = { "fault-injection" },
            wasm = { plugins = { { name = "wasm_w", priority = 7997, file = "t/plugins/hostcalls.wasm",
                                   http_request_phase = "rewrite" } } },
            routes = {
                { uri = "/lua-first", plugins = {
                    ["fault-injection"] = { abort = { http_status = 403, body = "lua answered\n" } },
                    wasm_w = { conf = "{}" } } },
                { uri = "/lua-passes", plugins = {
                    ["fault-injection"] = { abort = { http_status = 403, body = "lua answered\n", percentage = 0 } },
                    wasm_w = { conf = [[{"on_request_headers": [{"op": "local_response", "status": 202, "body": "wasm answered\n"}]}]] } } },
            },
        }))
    }
--- config
    location / {
        rewrite_by_lua_block { require("wasm_gateway").rewrite() }
        access_by_lua_block { require("wasm_gateway").access() }
        header_filter_by_lua_block { require("wasm_gateway").header_filter() }
        body_filter_by_lua_block { require("wasm_gateway").body_filter() }
        content_by_lua_block { ngx.say("upstream") }
    }
--- request
GET /lua-passes
--- error_code: 202
--- response_body
wasm answered
--- grep_error_log eval: qr/hostcalls: on_(?:request|response)_headers(?= num)/
--- grep_error_log_out
hostcalls: on_request_headers
hostcalls: on_response_headers
--- no_error_log
[error]
[alert]
[crit]



=== TEST 6: a Lua plugin's (status, body) answer, a JSON table body, and a status-only answer with nginx's page
--- http_config
    lua_package_path "lua/?.lua;;";
    init_by_lua_block {
        local gw = require("wasm_gateway")
        assert(gw.register({ name = "answer", priority = 1, access = function(conf)
            return conf.status, conf.body
        end }))
        assert(gw.configure({ routes = {
            { uri = "/text", plugins = { answer = { status = 201, body = "text\n" } } },
            { uri = "/json", plugins = { answer = { status = 400, body = { error_msg = "bad" } } } },
            { uri = "/page", plugins = { answer = { status = 502 } } },
            { uri = "/empty", plugins = { answer = { status = 204 } } },
        } }))
    }
--- config
    location / {
        rewrite_by_lua_block { require("wasm_gateway").rewrite() }
        access_by_lua_block { require("wasm_gateway").access() }
        header_filter_by_lua_block { require("wasm_gateway").header_filter() }
        body_filter_by_lua_block { require("wasm_gateway").body_filter() }
        content_by_lua_block { ngx.say("upstream") }
    }
--- request eval
["GET /text", "GET /json", "GET /page", "GET /empty"]
--- error_code eval
[201, 400, 502, 204]
--- response_body_like eval
["^text\n\$", "^\\{\"error_msg\":\"bad\"\\}\$", "<title>502 Bad Gateway</title>", "^\$"]
--- no_error_log
[error]
[alert]
[crit]
