# Plugins written for Envoy see the same here: the request header map has the Host as :authority only (setting
# `host` sets :authority); a plugin's own local response goes through its response callbacks, as Envoy's
# encoder filters run for a local reply; a HEAD response keeps its Content-Length though a plugin has a body
# callback. Both entrances where both apply. Plugin: t/plugins/hostcalls (config-driven).
use Test::Nginx::Socket::Lua 'no_plan';

log_level('info');
no_shuffle();
run_tests();

__DATA__

=== TEST 1: directives: no host in the request map, :authority has it; replacing host sets :authority
--- http_config
    wasm_plugin hostcalls ../../t/plugins/hostcalls.wasm;
--- config
    location /t {
        proxy_wasm hostcalls '{"on_request_headers": [{"op": "get", "map": "request_headers", "key": "host"},
                                                      {"op": "get", "map": "request_headers", "key": ":authority"},
                                                      {"op": "replace", "map": "request_headers", "key": "host", "value": "example.test"},
                                                      {"op": "get", "map": "request_headers", "key": ":authority"}]}';
        proxy_set_header X-Host $http_host;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location /up {
        return 200 "$http_x_host\n";
    }
--- request
GET /t
--- response_body
example.test
--- grep_error_log eval: qr/hostcalls: on_request_headers(?: num_headers=\d+|: get [^,]*)/
--- grep_error_log_out
hostcalls: on_request_headers num_headers=5
hostcalls: on_request_headers: get request_headers "host" -> NotFound
hostcalls: on_request_headers: get request_headers ":authority" -> Ok "localhost"
hostcalls: on_request_headers: get request_headers ":authority" -> Ok "example.test"
--- no_error_log
[error]
[alert]
[crit]



=== TEST 2: Lua: no host in the request map, :authority has it
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("hostcalls", "t/plugins/hostcalls.wasm"))
        package.loaded.ctx = assert(wasm.on_configure(plugin, [=[{"on_request_headers": [
            {"op": "get", "map": "request_headers", "key": "host"},
            {"op": "get", "map": "request_headers", "key": ":authority"}]}]=]))
    }
--- config
    location /t {
        access_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            assert(wasm.on_http_request_headers(package.loaded.ctx))
        }
        content_by_lua_block { ngx.say("ok") }
    }
--- request
GET /t
--- response_body
ok
--- grep_error_log eval: qr/hostcalls: on_request_headers(?: num_headers=\d+|: get [^,]*)/
--- grep_error_log_out
hostcalls: on_request_headers num_headers=5
hostcalls: on_request_headers: get request_headers "host" -> NotFound
hostcalls: on_request_headers: get request_headers ":authority" -> Ok "localhost"
--- no_error_log
[error]
[alert]
[crit]



=== TEST 3: directives: a plugin's own local response goes through its response header and body callbacks
--- http_config
    wasm_plugin hostcalls ../../t/plugins/hostcalls.wasm;
--- config
    location /t {
        proxy_wasm hostcalls '{"on_request_headers": [{"op": "local_response", "status": 403, "body": "blocked\\n"}],
                               "on_response_headers": [{"op": "get", "map": "response_headers", "key": ":status"}],
                               "on_response_body": [{"op": "get_body"}]}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location /up {
        return 200 "not reached\n";
    }
--- request
GET /t
--- error_code: 403
--- response_body
blocked
--- grep_error_log eval: qr/hostcalls: on_response_(?:headers: get|body: get_body) [^,]*/
--- grep_error_log_out
hostcalls: on_response_headers: get response_headers ":status" -> Ok "403"
hostcalls: on_response_body: get_body response_body -> Ok "blocked\n"
--- no_error_log
[error]
[alert]
[crit]



=== TEST 4: Lua: a plugin's own local response goes through its response header callback (APISIX's header filter)
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("hostcalls", "t/plugins/hostcalls.wasm"))
        package.loaded.ctx = assert(wasm.on_configure(plugin, [=[{
            "on_request_headers": [{"op": "local_response", "status": 403, "body": "blocked\n"}],
            "on_response_headers": [{"op": "get", "map": "response_headers", "key": ":status"}]}]=]))
    }
--- config
    location /t {
        access_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            assert(wasm.on_http_request_headers(package.loaded.ctx))
        }
        header_filter_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            assert(wasm.on_http_response_headers(package.loaded.ctx))
        }
        content_by_lua_block { ngx.say("not reached") }
    }
--- request
GET /t
--- error_code: 403
--- response_body
blocked
--- grep_error_log eval: qr/hostcalls: on_response_headers: get [^,]*/
--- grep_error_log_out
hostcalls: on_response_headers: get response_headers ":status" -> Ok "403"
--- no_error_log
[error]
[alert]
[crit]



=== TEST 5: directives: a HEAD response keeps its Content-Length though the plugin has a body callback
--- http_config
    wasm_plugin hostcalls ../../t/plugins/hostcalls.wasm;
--- config
    location /t {
        proxy_wasm hostcalls '{"on_response_body": [{"op": "get_body"}]}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location /up {
        return 200 "five\n";
    }
--- request
HEAD /t
--- response_headers
Content-Length: 5
--- response_body
--- no_error_log
[error]
[alert]
[crit]



=== TEST 6: directives: a GET of the same drops Content-Length (the plugin may change the body)
--- http_config
    wasm_plugin hostcalls ../../t/plugins/hostcalls.wasm;
--- config
    location /t {
        proxy_wasm hostcalls '{"on_response_body": [{"op": "get_body"}]}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location /up {
        return 200 "five\n";
    }
--- request
GET /t
--- response_headers
! Content-Length
--- response_body
five
--- no_error_log
[error]
[alert]
[crit]



=== TEST 7: Lua: an empty header name changes nothing and answers Ok (as on api7's host; the SDKs need Ok)
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("hostcalls", "t/plugins/hostcalls.wasm"))
        package.loaded.ctx = assert(wasm.on_configure(plugin, [=[{"on_request_headers": [
            {"op": "add", "map": "request_headers", "key": "", "value": "x"},
            {"op": "replace", "map": "request_headers", "key": "", "value": "x"},
            {"op": "remove", "map": "request_headers", "key": ""},
            {"op": "log_pairs", "map": "request_headers"}]}]=]))
    }
--- config
    location /t {
        access_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            assert(wasm.on_http_request_headers(package.loaded.ctx))
        }
        content_by_lua_block { ngx.say("ok") }
    }
--- request
GET /t
--- response_body
ok
--- grep_error_log eval: qr/hostcalls: on_request_headers: (?:(?:add|replace|remove) [^,]*|request_headers: \d+ pairs)/
--- grep_error_log_out
hostcalls: on_request_headers: add request_headers "" "x" -> Ok
hostcalls: on_request_headers: replace request_headers "" "x" -> Ok
hostcalls: on_request_headers: remove request_headers "" -> Ok
hostcalls: on_request_headers: request_headers: 5 pairs
--- no_error_log
[error]
[alert]
[crit]
