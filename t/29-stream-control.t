# Stream control: a response body paused by the plugin is buffered until it continues (or the body ends), and
# proxy_close_stream drops the connection without an answer; through the Lua API and through directives. A
# cosocket shows what a client gets from a closed stream. Plugin: t/plugins/hostcalls (config-driven).
use Test::Nginx::Socket::Lua 'no_plan';

log_level('info');
no_shuffle();
run_tests();

__DATA__

=== TEST 1: Lua API: a paused response body is held and handed over whole at its end
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("hostcalls", "t/plugins/hostcalls.wasm"))
        package.loaded.ctx = assert(wasm.on_configure(plugin, [[{"on_response_body": [{"op": "get_body"}, {"op": "set_body", "value": "!", "mode": "append", "if_eos": true}, {"op": "return", "action": "pause"}]}]]))
    }
--- config
    location /t {
        content_by_lua_block {
            for _, part in ipairs({"a", "b", "c"}) do
                ngx.print(part)
                ngx.flush(true)
            end
        }
        body_filter_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            assert(wasm.on_http_response_body(package.loaded.ctx))
        }
    }
--- request
GET /t
--- response_body chomp
abc!
--- grep_error_log eval: qr/hostcalls: on_response_body: get_body [^,]*/
--- grep_error_log_out
hostcalls: on_response_body: get_body response_body -> Ok "a"
hostcalls: on_response_body: get_body response_body -> Ok "ab"
hostcalls: on_response_body: get_body response_body -> Ok "abc"
hostcalls: on_response_body: get_body response_body -> Ok "abc"
--- no_error_log
[error]
[alert]
[crit]



=== TEST 2: directives: a paused response body is held and handed over whole at its end
--- http_config
    wasm_plugin hostcalls ../../t/plugins/hostcalls.wasm;
--- config
    location /t {
        proxy_wasm hostcalls '{"on_response_body": [{"op": "get_body"}, {"op": "set_body", "value": "!", "mode": "append", "if_eos": true}, {"op": "return", "action": "pause"}]}';
        content_by_lua_block {
            for _, part in ipairs({"a", "b", "c"}) do
                ngx.print(part)
                ngx.flush(true)
            end
        }
    }
--- request
GET /t
--- response_body chomp
abc!
--- grep_error_log eval: qr/hostcalls: on_response_body: get_body [^,]*/
--- grep_error_log_out
hostcalls: on_response_body: get_body response_body -> Ok "a"
hostcalls: on_response_body: get_body response_body -> Ok "ab"
hostcalls: on_response_body: get_body response_body -> Ok "abc"
hostcalls: on_response_body: get_body response_body -> Ok "abc"
--- no_error_log
[error]
[alert]
[crit]



=== TEST 3: a chain: the second plugin sees the body only when the first releases it
--- http_config
    wasm_plugin hostcalls ../../t/plugins/hostcalls.wasm;
--- config
    location /t {
        proxy_wasm hostcalls '{"on_response_body": [{"op": "log", "msg": "1st"}, {"op": "get_body"}, {"op": "return", "action": "pause"}]}';
        proxy_wasm hostcalls '{"on_response_body": [{"op": "log", "msg": "2nd"}, {"op": "get_body"}]}';
        content_by_lua_block {
            for _, part in ipairs({"a", "b", "c"}) do
                ngx.print(part)
                ngx.flush(true)
            end
        }
    }
--- request
GET /t
--- response_body chomp
abc
--- grep_error_log eval: qr/hostcalls: on_response_body: (?:1st|2nd|get_body [^,]*)/
--- grep_error_log_out
hostcalls: on_response_body: 1st
hostcalls: on_response_body: get_body response_body -> Ok "a"
hostcalls: on_response_body: 1st
hostcalls: on_response_body: get_body response_body -> Ok "ab"
hostcalls: on_response_body: 1st
hostcalls: on_response_body: get_body response_body -> Ok "abc"
hostcalls: on_response_body: 1st
hostcalls: on_response_body: get_body response_body -> Ok "abc"
hostcalls: on_response_body: 2nd
hostcalls: on_response_body: get_body response_body -> Ok "abc"
--- no_error_log
[error]
[alert]
[crit]



=== TEST 4: proxy_close_stream from a request callback drops the connection without an answer, on both paths
--- http_config
    lua_package_path "lua/?.lua;;";
    wasm_plugin hostcalls ../../t/plugins/hostcalls.wasm;
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("hostcalls", "t/plugins/hostcalls.wasm"))
        package.loaded.ctx = assert(wasm.on_configure(plugin, [[{"on_request_headers": [{"op": "close"}]}]]))
    }
--- config
    location /lua {
        access_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            assert(wasm.on_http_request_headers(package.loaded.ctx))
        }
        content_by_lua_block { ngx.say("not closed") }
    }
    location /directive {
        proxy_wasm hostcalls '{"on_request_headers": [{"op": "close"}]}';
        content_by_lua_block { ngx.say("not closed") }
    }
    location /t {
        content_by_lua_block {
            for _, path in ipairs({"/lua", "/directive"}) do
                local sock = ngx.socket.tcp()
                assert(sock:connect("127.0.0.1", ngx.var.server_port))
                assert(sock:send("GET " .. path .. " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"))
                local raw, err = sock:receive("*a")
                ngx.say(path, ": ", #(raw or ""), " bytes", err and (" (" .. err .. ")") or "")
            end
        }
    }
--- request
GET /t
--- response_body
/lua: 0 bytes
/directive: 0 bytes
--- grep_error_log eval: qr/hostcalls: on_request_headers: close [^,]*|the plugin closed the stream/
--- grep_error_log_out
hostcalls: on_request_headers: close 0 -> Ok
the plugin closed the stream
hostcalls: on_request_headers: close 0 -> Ok
the plugin closed the stream
--- no_error_log
[error]
[alert]
[crit]
