# The native Lua fault-injection plugin (lua/wasm_gateway/plugins/fault-injection.lua), APISIX's `abort`
# semantics: the baseline the Wasm fault injection is compared with. Run through wasm_gateway.
use Test::Nginx::Socket::Lua 'no_plan';

log_level('info');
no_shuffle();
no_root_location();
run_tests();

__DATA__

=== TEST 1: abort with a status and a body; with an error status and no body, nginx's own page
--- http_config
    lua_package_path "lua/?.lua;;";
    init_by_lua_block {
        local gw = require("wasm_gateway")
        assert(gw.configure({
            plugins = { "fault-injection" },
            routes = {
                { uri = "/hello", plugins = { ["fault-injection"] = { abort = { http_status = 200, body = "hello world" } } } },
                { uri = "/denied", plugins = { ["fault-injection"] = { abort = { http_status = 403, body = "access denied\n" } } } },
                { uri = "/page", plugins = { ["fault-injection"] = { abort = { http_status = 503 } } } },
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
["GET /hello", "GET /denied", "GET /page"]
--- error_code eval
[200, 403, 503]
--- response_body_like eval
["^hello world\$", "^access denied\n\$", "<title>503 Service Temporarily Unavailable</title>"]
--- no_error_log
[error]
[alert]
[crit]



=== TEST 2: percentage 0 never aborts, 100 always does
--- http_config
    lua_package_path "lua/?.lua;;";
    init_by_lua_block {
        local gw = require("wasm_gateway")
        assert(gw.configure({
            plugins = { "fault-injection" },
            routes = {
                { uri = "/never", plugins = { ["fault-injection"] = { abort = { http_status = 500, body = "boom\n", percentage = 0 } } } },
                { uri = "/always", plugins = { ["fault-injection"] = { abort = { http_status = 429, body = "always\n", percentage = 100 } } } },
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
["GET /never", "GET /always", "GET /never", "GET /always"]
--- error_code eval
[200, 429, 200, 429]
--- response_body eval
["upstream\n", "always\n", "upstream\n", "always\n"]
--- no_error_log
[error]
[alert]
[crit]



=== TEST 3: percentage 50 answers about half of the requests (400 subrequests: between 120 and 280 aborted)
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        math.randomseed(ngx.now() * 1000 + ngx.worker.pid())
        local gw = require("wasm_gateway")
        assert(gw.configure({
            plugins = { "fault-injection" },
            routes = { { uri = "/half", plugins = {
                ["fault-injection"] = { abort = { http_status = 503, body = "injected\n", percentage = 50 } } } } },
        }))
    }
--- config
    location = /t {
        content_by_lua_block {
            local injected, passed = 0, 0
            for _ = 1, 400 do
                local res = ngx.location.capture("/half")
                if res.status == 503 and res.body == "injected\n" then
                    injected = injected + 1
                elseif res.status == 200 and res.body == "upstream\n" then
                    passed = passed + 1
                end
            end
            ngx.say("total ", injected + passed, ", about half injected: ", injected >= 120 and injected <= 280)
        }
    }
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
total 400, about half injected: true
--- no_error_log
[error]
[alert]
[crit]



=== TEST 4: delay, then abort
--- http_config
    lua_package_path "lua/?.lua;;";
    init_by_lua_block {
        local gw = require("wasm_gateway")
        assert(gw.configure({
            plugins = { "fault-injection" },
            routes = { { uri = "/slow", plugins = { ["fault-injection"] = {
                delay = { duration = 0.2 }, abort = { http_status = 200, body = "late\n" } } } } },
        }))
    }
--- config
    location = /t {
        content_by_lua_block {
            ngx.update_time()
            local t0 = ngx.now()
            local res = ngx.location.capture("/slow")
            ngx.update_time()
            ngx.say(res.status, " ", res.body:sub(1, -2), ", delayed: ", ngx.now() - t0 >= 0.19)
        }
    }
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
200 late, delayed: true
--- no_error_log
[error]
[alert]
[crit]



=== TEST 5: confs APISIX's schema refuses are refused when the route is set
--- http_config
    lua_package_path "lua/?.lua;;";
    init_by_lua_block {
        assert(require("wasm_gateway").load_lua_plugin("fault-injection"))
    }
--- config
    location = /t {
        content_by_lua_block {
            local gw = require("wasm_gateway")
            for _, conf in ipairs({
                {},
                { abort = {} },
                { abort = { http_status = 199 } },
                { abort = { http_status = 200.5 } },
                { abort = { http_status = 200, percentage = 101 } },
                { abort = { http_status = 200, body = 1 } },
                { abort = { http_status = 200, colour = "red" } },
                { delay = { duration = -1 } },
                "abort",
            }) do
                ngx.say(select(2, gw.set_routes({ { uri = "/x", plugins = { ["fault-injection"] = conf } } })))
            end
        }
    }
--- request
GET /t
--- response_body
route "/x": plugin "fault-injection": needs "abort" or "delay"
route "/x": plugin "fault-injection": abort needs at least one field
route "/x": plugin "fault-injection": abort.http_status must be an integer >= 200
route "/x": plugin "fault-injection": abort.http_status must be an integer >= 200
route "/x": plugin "fault-injection": abort.percentage must be an integer within 0..100
route "/x": plugin "fault-injection": abort.body must be a string
route "/x": plugin "fault-injection": abort: unknown field "colour"
route "/x": plugin "fault-injection": delay.duration must be a number >= 0
route "/x": plugin "fault-injection": conf must be an object
--- no_error_log
[error]
[alert]
[crit]



=== TEST 6: the Wasm and the native plugin give the same answers for the same settings
--- http_config
    lua_package_path "lua/?.lua;;";
    init_by_lua_block {
        local gw = require("wasm_gateway")
        assert(gw.configure({
            plugins = { "fault-injection" },
            wasm = { plugins = { { name = "wasm_fault_injection", priority = 7997, file = "t/plugins/fault_injection.wasm" } } },
            routes = {
                { uri = "/lua/200", plugins = { ["fault-injection"] = { abort = { http_status = 200, body = "hello world" } } } },
                { uri = "/wasm/200", plugins = { wasm_fault_injection = { conf = { http_status = 200, body = "hello world" } } } },
                { uri = "/lua/503", plugins = { ["fault-injection"] = { abort = { http_status = 503 } } } },
                { uri = "/wasm/503", plugins = { wasm_fault_injection = { conf = { http_status = 503 } } } },
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
["GET /lua/200", "GET /wasm/200", "GET /lua/503", "GET /wasm/503"]
--- error_code eval
[200, 200, 503, 503]
--- response_headers eval
["Content-Type: text/plain\nContent-Length:", "Content-Type: text/plain\nContent-Length:",
 "Content-Type: text/html\nContent-Length: 197", "Content-Type: text/html\nContent-Length: 197"]
--- response_body_like eval
["^hello world\$", "^hello world\$", "<title>503 Service Temporarily Unavailable</title>", "<title>503 Service Temporarily Unavailable</title>"]
--- no_error_log
[error]
[alert]
[crit]
