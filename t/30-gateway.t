# wasm_gateway (lua/wasm_gateway.lua): the APISIX-style plugin runner. Declarations, route matching (exact, prefix
# with a trailing "*", unknown route: 404), the seed's two routes (/wasm through the Wasm plugin, /fault-injection
# through the native Lua plugin) and the demo's JSON declarations file.
use Test::Nginx::Socket::Lua 'no_plan';

log_level('info');
no_shuffle();
no_root_location();
run_tests();

__DATA__

=== TEST 1: the seed's /wasm route: the Wasm plugin answers 200 hello world, the upstream is never reached
--- http_config
    lua_package_path "lua/?.lua;;";
    init_by_lua_block {
        local gw = require("wasm_gateway")
        assert(gw.configure({
            wasm = { plugins = { { name = "wasm_fault_injection", priority = 7997,
                                   file = "t/plugins/fault_injection.wasm" } } },
            routes = { { uri = "/wasm", plugins = {
                wasm_fault_injection = { conf = '{"body":"hello world", "http_status":200}' } } } },
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
GET /wasm
--- error_code: 200
--- response_body chomp
hello world
--- no_error_log
[error]
[alert]
[crit]



=== TEST 2: the seed's /fault-injection route: the native Lua plugin gives the same answer
--- http_config
    lua_package_path "lua/?.lua;;";
    init_by_lua_block {
        local gw = require("wasm_gateway")
        assert(gw.configure({
            plugins = { "fault-injection" },
            routes = { { uri = "/fault-injection", plugins = {
                ["fault-injection"] = { abort = { body = "hello world", http_status = 200 } } } } },
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
GET /fault-injection
--- error_code: 200
--- response_body chomp
hello world
--- no_error_log
[error]
[alert]
[crit]



=== TEST 3: an unknown route answers 404 with APISIX's JSON body, and no plugin runs
--- http_config
    lua_package_path "lua/?.lua;;";
    init_by_lua_block {
        local gw = require("wasm_gateway")
        assert(gw.configure({
            wasm = { plugins = { { name = "wasm_fault_injection", priority = 7997,
                                   file = "t/plugins/fault_injection.wasm" } } },
            routes = { { uri = "/wasm", plugins = {
                wasm_fault_injection = { conf = '{"body":"hello world", "http_status":200}' } } } },
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
--- request eval
["GET /nowhere", "GET /wasm/sub", "GET /was"]
--- error_code eval
[404, 404, 404]
--- response_headers eval
["Content-Type: application/json", "Content-Type: application/json", "Content-Type: application/json"]
--- response_body eval
["{\"error_msg\":\"404 Route Not Found\"}\n", "{\"error_msg\":\"404 Route Not Found\"}\n", "{\"error_msg\":\"404 Route Not Found\"}\n"]
--- no_error_log
[error]
[alert]
[crit]
wasm plugin "wasm_fault_injection"



=== TEST 4: exact routes win over prefixes, and the longest prefix wins; a route without plugins passes through
--- http_config
    lua_package_path "lua/?.lua;;";
    init_by_lua_block {
        local gw = require("wasm_gateway")
        assert(gw.configure({
            wasm = { plugins = { { name = "wasm_fault_injection", priority = 7997,
                                   file = "t/plugins/fault_injection.wasm" } } },
            routes = {
                { uri = "/api/*", plugins = { wasm_fault_injection = { conf = '{"body":"api prefix\\n","http_status":200}' } } },
                { uri = "/api/v2/*", plugins = { wasm_fault_injection = { conf = '{"body":"v2 prefix\\n","http_status":201}' } } },
                { uri = "/api/v2/exact", plugins = { wasm_fault_injection = { conf = '{"body":"exact\\n","http_status":202}' } } },
                { uri = "/plain" },
                { uri = "/*", plugins = { wasm_fault_injection = { conf = '{"body":"catch all\\n","http_status":203}' } } },
            },
        }))
    }
--- config
    location / {
        rewrite_by_lua_block { require("wasm_gateway").rewrite() }
        access_by_lua_block { require("wasm_gateway").access() }
        header_filter_by_lua_block { require("wasm_gateway").header_filter() }
        body_filter_by_lua_block { require("wasm_gateway").body_filter() }
        content_by_lua_block { ngx.say("upstream ", ngx.var.uri) }
    }
--- request eval
["GET /api/x", "GET /api/", "GET /api/v2/y", "GET /api/v2/exact", "GET /api/v2/exact/more", "GET /plain", "GET /other"]
--- error_code eval
[200, 200, 201, 202, 201, 200, 203]
--- response_body eval
["api prefix\n", "api prefix\n", "v2 prefix\n", "exact\n", "v2 prefix\n", "upstream /plain\n", "catch all\n"]
--- no_error_log
[error]
[alert]
[crit]



=== TEST 5: the demo's declarations file (nginx-conf/gateway.json): Wasm files relative to the file, every route answers
--- http_config
    lua_package_path "lua/?.lua;;";
    init_by_lua_block {
        local gw = require("wasm_gateway")
        assert(gw.configure_file("nginx-conf/gateway.json"))
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
["GET /wasm", "GET /fault-injection", "GET /wasm-as", "GET /wasm-c", "GET /wasm-403"]
--- error_code eval
[200, 200, 200, 200, 403]
--- response_body eval
["hello world", "hello world", "hello world", "hello world", "blocked by wasm\n"]
--- no_error_log
[error]
[alert]
[crit]



=== TEST 6: bad declarations are refused with a clear message
--- http_config
    lua_package_path "lua/?.lua;;";
--- config
    location /t {
        content_by_lua_block {
            local gw = require("wasm_gateway")
            local cases = {
                { wasm = { plugins = { { name = "w", priority = 1, file = "t/plugins/missing.wasm" } } } },
                { wasm = { plugins = { { name = "w", priority = "high", file = "t/plugins/fault_injection.wasm" } } } },
                { wasm = { plugins = { { name = "w", priority = 1, file = "t/plugins/fault_injection.wasm",
                                         http_request_phase = "log" } } } },
                { plugins = { "no-such-plugin" } },
                { routes = { { uri = "/x", plugins = { nobody = { conf = "{}" } } } } },
                { routes = { { uri = "x" } } },
                { routes = { { id = 1, uri = "/a" }, { id = 1, uri = "/b" } } },
            }
            for i, c in ipairs(cases) do
                local ok, err = gw.configure(c)
                ngx.say(i, ": ", tostring(ok), " ", (tostring(err):gsub("module '.-'.*", "module ...")))
            end
            ngx.say(gw.configure_file("t/nothing.json"))
        }
    }
--- request
GET /t
--- response_body
1: nil wasm plugin "w" (t/plugins/missing.wasm): t/plugins/missing.wasm: No such file or directory
2: nil wasm plugin "w": priority must be an integer
3: nil wasm plugin "w" (t/plugins/fault_injection.wasm): http_request_phase must be "access" or "rewrite", got "log"
4: nil Lua plugin "no-such-plugin": cannot require "wasm_gateway.plugins.no-such-plugin": module ...
5: nil route "/x": unknown plugin "nobody"
6: nil route #1: uri must be a string starting with "/"
7: nil route "1": duplicate id
nilt/nothing.json: No such file or directory
--- no_error_log
[error]
[alert]
[crit]
