# wasm_gateway: APISIX's body protocol end to end, the plugin raising the flags itself through proxy_set_property
# (path "wasm_process_req_body" in on_request_headers, "wasm_process_resp_body" in on_response_headers), as
# APISIX's Wasm plugins do. Plugin: t/plugins/hostcalls.
use Test::Nginx::Socket::Lua 'no_plan';

log_level('info');
no_shuffle();
no_root_location();
run_tests();

__DATA__

=== TEST 1: the plugin asks for both bodies: it reads the request body and rewrites the response body
--- http_config
    lua_package_path "lua/?.lua;;";
    init_by_lua_block {
        local gw = require("wasm_gateway")
        assert(gw.configure({
            wasm = { plugins = { { name = "hostcalls", priority = 1, file = "t/plugins/hostcalls.wasm" } } },
            routes = { { uri = "/t", plugins = { hostcalls = { conf = {
                on_request_headers = { { op = "set_property", path = { "wasm_process_req_body" }, value = "true" } },
                on_request_body = { { op = "get_body" } },
                on_response_headers = { { op = "set_property", path = { "wasm_process_resp_body" }, value = "true" } },
                on_response_body = { { op = "set_body", mode = "append", value = "appended by wasm\n", if_eos = true } },
            } } } } },
        }))
    }
--- config
    location / {
        set $wasm_process_req_body '';
        set $wasm_process_resp_body '';
        rewrite_by_lua_block { require("wasm_gateway").rewrite() }
        access_by_lua_block { require("wasm_gateway").access() }
        header_filter_by_lua_block { require("wasm_gateway").header_filter() }
        body_filter_by_lua_block { require("wasm_gateway").body_filter() }
        content_by_lua_block {
            ngx.say("upstream, req flag [", ngx.var.wasm_process_req_body, "]")
        }
    }
--- request
POST /t
hello body
--- response_body
upstream, req flag []
appended by wasm
--- error_log
set_property wasm_process_req_body "true" -> Ok
get_body request_body -> Ok "hello body"
set_property wasm_process_resp_body "true" -> Ok
hostcalls: on_response_body body_size=0 end_of_stream=true
--- no_error_log
[error]
[alert]
[crit]



=== TEST 2: a plugin that does not ask gets neither body, even after another plugin asked for its own
--- http_config
    lua_package_path "lua/?.lua;;";
    init_by_lua_block {
        local gw = require("wasm_gateway")
        assert(gw.configure({
            wasm = { plugins = {
                { name = "wasm_asks", priority = 2000, file = "t/plugins/hostcalls.wasm" },
                { name = "wasm_quiet", priority = 1000, file = "t/plugins/hostcalls.wasm" },
            } },
            routes = { { uri = "/t", plugins = {
                wasm_asks = { conf = {
                    on_request_headers = { { op = "set_property", path = { "wasm_process_req_body" }, value = "1" } },
                    on_response_headers = { { op = "set_property", path = { "wasm_process_resp_body" }, value = "1" } },
                } },
                wasm_quiet = { conf = "{}" },
            } } },
        }))
    }
--- config
    location / {
        set $wasm_process_req_body '';
        set $wasm_process_resp_body '';
        rewrite_by_lua_block { require("wasm_gateway").rewrite() }
        access_by_lua_block { require("wasm_gateway").access() }
        header_filter_by_lua_block { require("wasm_gateway").header_filter() }
        body_filter_by_lua_block { require("wasm_gateway").body_filter() }
        content_by_lua_block { ngx.say("upstream") }
    }
--- request
POST /t
abc
--- response_body
upstream
--- grep_error_log eval: qr/wasm plugin "\w+": hostcalls: on_(?:request|response)_\w+(?= )/
--- grep_error_log_out
wasm plugin "wasm_asks": hostcalls: on_request_headers
wasm plugin "wasm_asks": hostcalls: on_request_body
wasm plugin "wasm_quiet": hostcalls: on_request_headers
wasm plugin "wasm_asks": hostcalls: on_response_headers
wasm plugin "wasm_quiet": hostcalls: on_response_headers
wasm plugin "wasm_asks": hostcalls: on_response_body
wasm plugin "wasm_asks": hostcalls: on_response_body
--- no_error_log
[error]
[alert]
[crit]
