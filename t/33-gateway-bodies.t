# wasm_gateway: the body flags of APISIX's Wasm layer. After on_http_request_headers, a non-empty
# $wasm_process_req_body makes the runner read the request body and call on_http_request_body(ctx, body, true);
# after on_http_response_headers, a non-empty $wasm_process_resp_body makes body_filter call
# on_http_response_body for that plugin on every chunk. The runner resets each flag once read, so the next Wasm
# plugin of the route starts clean. Here a higher-priority Lua plugin raises the flags (the plugin itself does it
# through proxy_set_property in 34-gateway-body-properties.t); hostcalls logs what it is given.
use Test::Nginx::Socket::Lua 'no_plan';

log_level('info');
no_shuffle();
no_root_location();
run_tests();

__DATA__

=== TEST 1: request body flag: the body is read and given to on_http_request_body, and the flag is reset
--- http_config
    lua_package_path "lua/?.lua;;";
    init_by_lua_block {
        local gw = require("wasm_gateway")
        assert(gw.register({ name = "raise_req_flag", priority = 9000, access = function()
            ngx.var.wasm_process_req_body = "true"
        end }))
        assert(gw.configure({
            wasm = { plugins = { { name = "hostcalls", priority = 1, file = "t/plugins/hostcalls.wasm" } } },
            routes = { { uri = "/t", plugins = {
                raise_req_flag = {},
                hostcalls = { conf = [[{"on_request_body": [{"op": "get_body"}]}]] },
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
        content_by_lua_block { ngx.say("flag after the plugins: [", ngx.var.wasm_process_req_body, "]") }
    }
--- request
POST /t
hello body
--- response_body
flag after the plugins: []
--- error_log
hostcalls: on_request_body body_size=10 end_of_stream=true
get_body request_body -> Ok "hello body"
--- no_error_log
hostcalls: on_response_body
[error]
[alert]
[crit]



=== TEST 2: without the flag the body is not read and on_http_request_body is not called
--- http_config
    lua_package_path "lua/?.lua;;";
    init_by_lua_block {
        local gw = require("wasm_gateway")
        assert(gw.configure({
            wasm = { plugins = { { name = "hostcalls", priority = 1, file = "t/plugins/hostcalls.wasm" } } },
            routes = { { uri = "/t", plugins = {
                hostcalls = { conf = [[{"on_request_body": [{"op": "get_body"}]}]] },
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
        content_by_lua_block {
            ngx.req.read_body()
            ngx.say("content read: ", ngx.req.get_body_data())
        }
    }
--- request
POST /t
hello body
--- response_body
content read: hello body
--- error_log
hostcalls: on_request_headers
hostcalls: on_response_headers
--- no_error_log
hostcalls: on_request_body
hostcalls: on_response_body
[error]
[alert]
[crit]



=== TEST 3: the request flag is consumed by the first Wasm plugin after it was raised, not by the next one
--- http_config
    lua_package_path "lua/?.lua;;";
    init_by_lua_block {
        local gw = require("wasm_gateway")
        assert(gw.register({ name = "raise_req_flag", priority = 9000, access = function()
            ngx.var.wasm_process_req_body = "1"
        end }))
        assert(gw.configure({
            wasm = { plugins = {
                { name = "wasm_first", priority = 2000, file = "t/plugins/hostcalls.wasm" },
                { name = "wasm_second", priority = 1000, file = "t/plugins/hostcalls.wasm" },
            } },
            routes = { { uri = "/t", plugins = {
                raise_req_flag = {},
                wasm_first = { conf = [[{"on_request_body": [{"op": "get_body"}]}]] },
                wasm_second = { conf = [[{"on_request_body": [{"op": "get_body"}]}]] },
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
--- grep_error_log eval: qr/wasm plugin "\w+": hostcalls: on_request_\w+(?= )/
--- grep_error_log_out
wasm plugin "wasm_first": hostcalls: on_request_headers
wasm plugin "wasm_first": hostcalls: on_request_body
wasm plugin "wasm_second": hostcalls: on_request_headers
--- no_error_log
[error]
[alert]
[crit]



=== TEST 4: response body flag: body_filter calls on_http_response_body for that plugin, which can change the body
--- http_config
    lua_package_path "lua/?.lua;;";
    init_by_lua_block {
        local gw = require("wasm_gateway")
        assert(gw.register({ name = "raise_resp_flag", priority = 9000, header_filter = function()
            ngx.var.wasm_process_resp_body = "true"
        end }))
        assert(gw.configure({
            wasm = { plugins = {
                { name = "wasm_first", priority = 2000, file = "t/plugins/hostcalls.wasm" },
                { name = "wasm_second", priority = 1000, file = "t/plugins/hostcalls.wasm" },
            } },
            routes = { { uri = "/t", plugins = {
                raise_resp_flag = {},
                wasm_first = { conf = [[{"on_response_body": [{"op": "get_body"},
                                          {"op": "set_body", "mode": "append", "value": "appended by wasm\n", "if_eos": true}]}]] },
                wasm_second = { conf = [[{"on_response_body": [{"op": "get_body"}]}]] },
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
GET /t
--- response_body
upstream
appended by wasm
--- grep_error_log eval: qr/wasm plugin "\w+": hostcalls: on_response_body(?= )/
--- grep_error_log_out
wasm plugin "wasm_first": hostcalls: on_response_body
wasm plugin "wasm_first": hostcalls: on_response_body
--- error_log
get_body response_body -> Ok "upstream\n"
--- no_error_log
wasm plugin "wasm_second": hostcalls: on_response_body
[error]
[alert]
[crit]



=== TEST 5: locations that do not declare the flag variables work; the bodies are never handed over
--- http_config
    lua_package_path "lua/?.lua;;";
    init_by_lua_block {
        local gw = require("wasm_gateway")
        assert(gw.configure({
            wasm = { plugins = { { name = "hostcalls", priority = 1, file = "t/plugins/hostcalls.wasm" } } },
            routes = { { uri = "/t", plugins = { hostcalls = { conf = "{}" } } } },
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
POST /t
body
--- response_body
upstream
--- no_error_log
hostcalls: on_request_body
hostcalls: on_response_body
[error]
[alert]
[crit]



=== TEST 6: a request body buffered to a temp file is read back from it
--- http_config
    lua_package_path "lua/?.lua;;";
    init_by_lua_block {
        local gw = require("wasm_gateway")
        assert(gw.register({ name = "raise_req_flag", priority = 9000, access = function()
            ngx.var.wasm_process_req_body = "true"
        end }))
        assert(gw.configure({
            wasm = { plugins = { { name = "hostcalls", priority = 1, file = "t/plugins/hostcalls.wasm" } } },
            routes = { { uri = "/t", plugins = {
                raise_req_flag = {},
                hostcalls = { conf = [[{"on_request_body": [{"op": "buffer_status"}]}]] },
            } } },
        }))
    }
--- config
    location / {
        client_body_in_file_only on;
        set $wasm_process_req_body '';
        set $wasm_process_resp_body '';
        rewrite_by_lua_block { require("wasm_gateway").rewrite() }
        access_by_lua_block { require("wasm_gateway").access() }
        header_filter_by_lua_block { require("wasm_gateway").header_filter() }
        body_filter_by_lua_block { require("wasm_gateway").body_filter() }
        content_by_lua_block { ngx.say("upstream") }
    }
--- request eval
"POST /t\n" . ("x" x 3000)
--- response_body
upstream
--- error_log
hostcalls: on_request_body body_size=3000 end_of_stream=true
--- no_error_log
[error]
[alert]
[crit]
