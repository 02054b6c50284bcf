# wasm_gateway: Wasm plugin confs. A conf is a non-empty string or a table (encoded to JSON once); the plugin ctx
# is created by on_configure on the first request per route conf and cached on it; a conf the plugin refuses and a
# failing call answer 503 with a log line; replacing or deleting a route lets the GC free its plugin ctx.
use Test::Nginx::Socket::Lua 'no_plan';

log_level('info');
no_shuffle();
no_root_location();
run_tests();

__DATA__

=== TEST 1: string conf and table conf (encoded to JSON) give the same answers
--- http_config
    lua_package_path "lua/?.lua;;";
    init_by_lua_block {
        local gw = require("wasm_gateway")
        assert(gw.configure({
            wasm = { plugins = {
                { name = "wasm_fault_injection", priority = 7997, file = "t/plugins/fault_injection.wasm" },
                { name = "hostcalls", priority = 1, file = "t/plugins/hostcalls.wasm" },
            } },
            routes = {
                { uri = "/string", plugins = { wasm_fault_injection = { conf = '{"body":"hello world\\n","http_status":200}' } } },
                { uri = "/table", plugins = { wasm_fault_injection = { conf = { body = "hello world\n", http_status = 200 } } } },
                { uri = "/nested", plugins = { hostcalls = { conf = { on_request_headers = {
                    { op = "local_response", status = 202, body = "from a table conf\n" } } } } } },
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
--- request eval
["GET /string", "GET /table", "GET /nested"]
--- error_code eval
[200, 200, 202]
--- response_body eval
["hello world\n", "hello world\n", "from a table conf\n"]
--- no_error_log
[error]
[alert]
[crit]



=== TEST 2: confs the route refuses before any request: empty, not a string or table, missing
--- http_config
    lua_package_path "lua/?.lua;;";
    init_by_lua_block {
        local gw = require("wasm_gateway")
        assert(gw.load_wasm_plugin({ name = "wasm_fault_injection", priority = 7997,
                                     file = "t/plugins/fault_injection.wasm" }))
    }
--- config
    location /t {
        content_by_lua_block {
            local gw = require("wasm_gateway")
            for _, conf in ipairs({ { conf = "" }, { conf = 42 }, {}, "text" }) do
                ngx.say(select(2, gw.set_routes({ { uri = "/x", plugins = { wasm_fault_injection = conf } } })))
            end
        }
    }
--- request
GET /t
--- response_body
route "/x": plugin "wasm_fault_injection": "conf" must not be empty
route "/x": plugin "wasm_fault_injection": "conf" must be a string or an object, got number
route "/x": plugin "wasm_fault_injection": "conf" is required
route "/x": plugin "wasm_fault_injection": the plugin conf must be an object with a "conf" field
--- no_error_log
[error]
[alert]
[crit]



=== TEST 3: a conf the plugin refuses (malformed JSON): 503 and a clear log line; on_configure is not retried per request
--- http_config
    lua_package_path "t/lib/?.lua;lua/?.lua;;";
    init_by_lua_block {
        local gw = require("wasm_gateway")
        assert(gw.configure({
            wasm = { plugins = { { name = "wasm_fault_injection", priority = 7997,
                                   file = "t/plugins/fault_injection.wasm" } } },
            routes = { { uri = "/t", plugins = { wasm_fault_injection = { conf = '{"http_status": 200' } } } },
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
    location = /seq {
        content_by_lua_block {
            local seq = require("seq")
            for _ = 1, 2 do
                local status, body = seq.get("/t")
                ngx.say(status, " ", body:match("<title>(.-)</title>") or body)
            end
        }
    }
--- request
GET /seq
--- response_body
503 503 Service Temporarily Unavailable
503 503 Service Temporarily Unavailable
--- grep_error_log eval: qr/seq: GET [^,\s]+|fault injection: bad configuration|wasm_gateway: wasm_fault_injection: failed to fetch wasm plugin ctx: failed to run proxy_on_configure/
--- grep_error_log_out
seq: GET /t
fault injection: bad configuration
wasm_gateway: wasm_fault_injection: failed to fetch wasm plugin ctx: failed to run proxy_on_configure
seq: GET /t
wasm_gateway: wasm_fault_injection: failed to fetch wasm plugin ctx: failed to run proxy_on_configure
--- no_error_log
[alert]
[crit]



=== TEST 4: a conf the plugin's own validation refuses (http_status below 200)
--- http_config
    lua_package_path "lua/?.lua;;";
    init_by_lua_block {
        local gw = require("wasm_gateway")
        assert(gw.configure({
            wasm = { plugins = { { name = "wasm_fault_injection", priority = 7997,
                                   file = "t/plugins/fault_injection.wasm" } } },
            routes = { { uri = "/t", plugins = { wasm_fault_injection = { conf = { http_status = 100 } } } } },
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
--- error_code: 503
--- error_log
fault injection: bad http_status 100: must be at least 200
wasm_gateway: wasm_fault_injection: failed to fetch wasm plugin ctx: failed to run proxy_on_configure
--- no_error_log
[alert]
[crit]



=== TEST 5: a failing request-phase call (the plugin traps) answers 503 and says which plugin failed
--- http_config
    lua_package_path "lua/?.lua;;";
    init_by_lua_block {
        local gw = require("wasm_gateway")
        assert(gw.configure({
            wasm = { plugins = { { name = "wasm_trap", priority = 1, file = ngx.config.prefix() .. "html/trap.wat" } } },
            routes = { { uri = "/t", plugins = { wasm_trap = { conf = "{}" } } } },
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
--- user_files
>>> trap.wat
(module
  (memory (export "memory") 1)
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_memory_allocate") (param i32) (result i32) i32.const 1024)
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_configure") (param i32 i32) (result i32) i32.const 1)
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32) unreachable))
--- request
GET /t
--- error_code: 503
--- response_body_like: <title>503 Service Temporarily Unavailable</title>
--- error_log
wasm_gateway: wasm_trap: failed to run wasm plugin: failed to run proxy_on_http_request_headers
--- no_error_log
[alert]
[crit]



=== TEST 6: on_configure runs once per route conf: three requests to one route, two to another with the same conf
--- http_config
    lua_package_path "t/lib/?.lua;lua/?.lua;;";
    init_by_lua_block {
        local gw = require("wasm_gateway")
        local conf = [[{"on_configure": [{"op": "log", "msg": "configured"}],
                        "on_request_headers": [{"op": "local_response", "status": 200, "body": "hostcalls\n"}]}]]
        assert(gw.configure({
            wasm = { plugins = { { name = "hostcalls", priority = 1, file = "t/plugins/hostcalls.wasm" } } },
            routes = {
                { id = "a", uri = "/a", plugins = { hostcalls = { conf = conf } } },
                { id = "b", uri = "/b", plugins = { hostcalls = { conf = conf } } },
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
    location = /count {
        content_by_lua_block {
            collectgarbage()
            collectgarbage()
            ngx.say("live plugin ctxs: ", require("wasm_gateway").live_plugin_ctxs())
        }
    }
    location = /seq {
        content_by_lua_block {
            local seq = require("seq")
            for _, uri in ipairs({ "/a", "/a", "/b", "/a", "/b", "/count" }) do
                local status, body = seq.get(uri)
                ngx.print(uri, " ", status, " ", body)
            end
        }
    }
--- request
GET /seq
--- response_body
/a 200 hostcalls
/a 200 hostcalls
/b 200 hostcalls
/a 200 hostcalls
/b 200 hostcalls
/count 200 live plugin ctxs: 2
--- grep_error_log eval: qr/seq: GET [^,\s]+|hostcalls: on_configure(?= )/
--- grep_error_log_out
seq: GET /a
hostcalls: on_configure
seq: GET /a
seq: GET /b
hostcalls: on_configure
seq: GET /a
seq: GET /b
seq: GET /count
--- no_error_log
[error]
[alert]
[crit]



=== TEST 7: a route update frees the old plugin ctx through the GC; the new conf gets its own ctx
--- http_config
    lua_package_path "t/lib/?.lua;lua/?.lua;;";
    init_by_lua_block {
        local gw = require("wasm_gateway")
        assert(gw.configure({
            wasm = { plugins = { { name = "wasm_fault_injection", priority = 7997,
                                   file = "t/plugins/fault_injection.wasm" } } },
            routes = { { id = "r", uri = "/gw", plugins = {
                wasm_fault_injection = { conf = '{"body":"v1\\n","http_status":200}' } } } },
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
    location = /update {
        content_by_lua_block {
            local gw = require("wasm_gateway")
            collectgarbage()
            collectgarbage()
            ngx.say("before: ", gw.live_plugin_ctxs())
            assert(gw.put_route({ id = "r", uri = "/gw", plugins = {
                wasm_fault_injection = { conf = '{"body":"v2\\n","http_status":201}' } } }))
            collectgarbage()
            collectgarbage()
            ngx.say("after: ", gw.live_plugin_ctxs())
        }
    }
    location = /delete {
        content_by_lua_block {
            local gw = require("wasm_gateway")
            assert(gw.delete_route("r"))
            collectgarbage()
            collectgarbage()
            ngx.say("after delete: ", gw.live_plugin_ctxs())
        }
    }
    location = /seq {
        content_by_lua_block {
            local seq = require("seq")
            for _, uri in ipairs({ "/gw", "/update", "/gw", "/gw", "/delete", "/gw" }) do
                local status, body = seq.get(uri)
                ngx.print(uri, " ", status, " ", body)
            end
        }
    }
--- request
GET /seq
--- response_body
/gw 200 v1
/update 200 before: 1
after: 0
/gw 201 v2
/gw 201 v2
/delete 200 after delete: 0
/gw 404 {"error_msg":"404 Route Not Found"}
--- grep_error_log eval: qr/seq: GET [^,\s]+|wasm_gateway: freed the plugin ctx of wasm plugin "\w+" \(route "\w+"\), \d+ left/
--- grep_error_log_out
seq: GET /gw
seq: GET /update
wasm_gateway: freed the plugin ctx of wasm plugin "wasm_fault_injection" (route "r"), 0 left
seq: GET /gw
seq: GET /gw
seq: GET /delete
wasm_gateway: freed the plugin ctx of wasm plugin "wasm_fault_injection" (route "r"), 0 left
seq: GET /gw
--- no_error_log
[error]
[alert]
[crit]



=== TEST 8: set_routes replaces every route at once; a bad list leaves the old routes in place
--- http_config
    lua_package_path "lua/?.lua;;";
    init_by_lua_block {
        local gw = require("wasm_gateway")
        assert(gw.configure({
            wasm = { plugins = { { name = "wasm_fault_injection", priority = 7997,
                                   file = "t/plugins/fault_injection.wasm" } } },
            routes = {
                { uri = "/one", plugins = { wasm_fault_injection = { conf = '{"body":"one\\n","http_status":200}' } } },
                { uri = "/two", plugins = { wasm_fault_injection = { conf = '{"body":"two\\n","http_status":200}' } } },
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
    location = /replace {
        content_by_lua_block {
            local gw = require("wasm_gateway")
            ngx.say(select(2, gw.set_routes({ { uri = "/three", plugins = { nobody = {} } } })))
            assert(gw.set_routes({
                { uri = "/three", plugins = { wasm_fault_injection = { conf = '{"body":"three\\n","http_status":200}' } } },
            }))
            collectgarbage()
            collectgarbage()
            ngx.say("live: ", gw.live_plugin_ctxs())
        }
    }
--- request eval
["GET /one", "GET /two", "GET /replace", "GET /one", "GET /three"]
--- error_code eval
[200, 200, 200, 404, 200]
--- response_body eval
["one\n", "two\n", "route \"/three\": unknown plugin \"nobody\"\nlive: 0\n", "{\"error_msg\":\"404 Route Not Found\"}\n", "three\n"]
--- no_error_log
[error]
[alert]
[crit]
