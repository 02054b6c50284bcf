# The HTTP-call cases api7/wasm-nginx-module's own call tests exercise, replayed through resty.proxy-wasm with our
# config-driven plugin (t/plugins/hostcalls): call arguments and responses, concurrency, calls next to local
# responses, calls from the request body, reads of a call's body. Where api7 answers otherwise, we pin our answer.
use Test::Nginx::Socket::Lua 'no_plan';

log_level('info');
no_shuffle();
run_tests();

__DATA__

=== TEST 1: upstreams with an out-of-range port or a malformed IPv6 literal are BadArgument at dispatch (one line each, as on api7's host); nothing is sent, no callback runs
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("hostcalls", "t/plugins/hostcalls.wasm"))
        package.loaded.ctx = assert(wasm.on_configure(plugin, [=[{"on_request_headers": [
 {"op": "dispatch", "upstream": "127.0.0.1:111981", "headers": [[":path", "/up"]]},
 {"op": "dispatch", "upstream": "a::1]", "headers": [[":path", "/up"]]},
 {"op": "dispatch", "upstream": "[::1", "headers": [[":path", "/up"]]}],
 "on_http_call_response": [{"op": "size", "map": "http_call_response_headers"}, {"op": "status"}]}]=]))
    }
--- config
    location /proxy-wasm-calls {
        internal;
        proxy_wasm_http_calls;
        proxy_pass $proxy_wasm_call_url;
        proxy_set_header Host $proxy_wasm_call_authority;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
    }
    location /t {
        access_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            assert(wasm.on_http_request_headers(package.loaded.ctx))
        }
        content_by_lua_block { ngx.say("content") }
    }
    location /up {
        content_by_lua_block { ngx.log(ngx.ERR, "UP HIT") ngx.print("up") }
    }
--- request
GET /t
--- response_body
content
--- grep_error_log eval: qr/(?:dispatch \S+ -> [^,\n]*|proxy_http_call: [^,\n]*|on_http_call_response[^,\n]*)/
--- grep_error_log_out
proxy_http_call: bad upstream (want host[:port] or an upstream name)
dispatch 127.0.0.1:111981 -> BadArgument
proxy_http_call: bad upstream (want host[:port] or an upstream name)
dispatch a::1] -> BadArgument
proxy_http_call: bad upstream (want host[:port] or an upstream name)
dispatch [::1 -> BadArgument
--- no_error_log
UP HIT
[alert]
[crit]



=== TEST 2: DELETE: the upstream gets the method as given; without a body no Content-Length is sent, with one its length
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("hostcalls", "t/plugins/hostcalls.wasm"))
        package.loaded.ctx = assert(wasm.on_configure(plugin, [=[{"on_request_headers": [{"op": "dispatch", "upstream": "127.0.0.1:$TEST_NGINX_SERVER_PORT", "headers": [[":method", "DELETE"], [":path", "/up?n=1"], [":authority", "up.test"]]}],
 "on_http_call_response": [{"op": "get_body"},
   {"op": "dispatch", "if_call": 1, "upstream": "127.0.0.1:$TEST_NGINX_SERVER_PORT", "headers": [[":method", "DELETE"], [":path", "/up?n=2"], [":authority", "up.test"]], "body": "gone"}]}]=]))
    }
--- config
    location /proxy-wasm-calls {
        internal;
        proxy_wasm_http_calls;
        proxy_pass $proxy_wasm_call_url;
        proxy_set_header Host $proxy_wasm_call_authority;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
    }
    location /t {
        access_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            assert(wasm.on_http_request_headers(package.loaded.ctx))
        }
        content_by_lua_block { ngx.say("content") }
    }
    location /up {
        content_by_lua_block {
            ngx.req.read_body()
            local head = ngx.req.raw_header():gsub("\r", "")
            ngx.print(head, "body=", ngx.req.get_body_data() or "-")
        }
    }
--- request
GET /t
--- response_body
content
--- grep_error_log eval: qr/get_body http_call_response_body -> [^,\n]*/
--- grep_error_log_out
get_body http_call_response_body -> Ok "DELETE /up?n=1 HTTP/1.1\nHost: up.test\n\nbody=-"
get_body http_call_response_body -> Ok "DELETE /up?n=2 HTTP/1.1\nHost: up.test\nContent-Length: 4\n\nbody=gone"
--- no_error_log
[error]
[alert]
[crit]



=== TEST 3: a call's request headers: names go out as the plugin spelled them, a repeated name once per value in order; the call's own Host, Content-Length and Connection give way to nginx's
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("hostcalls", "t/plugins/hostcalls.wasm"))
        package.loaded.ctx = assert(wasm.on_configure(plugin, [=[{"on_request_headers": [{"op": "dispatch", "upstream": "127.0.0.1:$TEST_NGINX_SERVER_PORT", "headers": [[":method", "GET"], [":path", "/up"], [":authority", "up.test"],
   ["X-Real-IP", "10.0.0.1"], ["foo", "1"], ["Foo", "2"], ["FOO", "3"], ["Ver", "V1"], ["Host", "other.test"], ["Content-Length", "99"], ["Connection", "close"]]}],
 "on_http_call_response": [{"op": "relay"}]}]=]))
    }
--- config
    location /proxy-wasm-calls {
        internal;
        proxy_wasm_http_calls;
        proxy_pass $proxy_wasm_call_url;
        proxy_set_header Host $proxy_wasm_call_authority;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
    }
    location /t {
        access_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            assert(wasm.on_http_request_headers(package.loaded.ctx))
        }
        content_by_lua_block { ngx.say("content") }
    }
    location /up {
        content_by_lua_block {
            ngx.req.read_body()
            local head = ngx.req.raw_header():gsub("\r", "")
            ngx.print(head, "body=", ngx.req.get_body_data() or "-")
        }
    }
--- request
GET /t
--- response_body chomp
GET /up HTTP/1.1
Host: up.test
X-Real-IP: 10.0.0.1
foo: 1
Foo: 2
FOO: 3
Ver: V1

body=-
--- no_error_log
[error]
[alert]
[crit]



=== TEST 4: a POST with an empty body and a POST without one: the upstream gets Content-Length: 0 and no body
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("hostcalls", "t/plugins/hostcalls.wasm"))
        package.loaded.ctx = assert(wasm.on_configure(plugin, [=[{"on_request_headers": [{"op": "dispatch", "upstream": "127.0.0.1:$TEST_NGINX_SERVER_PORT", "headers": [[":method", "POST"], [":path", "/up?n=1"], [":authority", "up.test"]], "body": ""}],
 "on_http_call_response": [{"op": "get_body"},
   {"op": "dispatch", "if_call": 1, "upstream": "127.0.0.1:$TEST_NGINX_SERVER_PORT", "headers": [[":method", "POST"], [":path", "/up?n=2"], [":authority", "up.test"]]}]}]=]))
    }
--- config
    location /proxy-wasm-calls {
        internal;
        proxy_wasm_http_calls;
        proxy_pass $proxy_wasm_call_url;
        proxy_set_header Host $proxy_wasm_call_authority;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
    }
    location /t {
        access_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            assert(wasm.on_http_request_headers(package.loaded.ctx))
        }
        content_by_lua_block { ngx.say("content") }
    }
    location /up {
        content_by_lua_block {
            ngx.req.read_body()
            local head = ngx.req.raw_header():gsub("\r", "")
            ngx.print(head, "body=", ngx.req.get_body_data() or "-")
        }
    }
--- request
GET /t
--- response_body
content
--- grep_error_log eval: qr/get_body http_call_response_body -> [^,\n]*/
--- grep_error_log_out
get_body http_call_response_body -> Ok "POST /up?n=1 HTTP/1.1\nHost: up.test\nContent-Length: 0\n\nbody=-"
get_body http_call_response_body -> Ok "POST /up?n=2 HTTP/1.1\nHost: up.test\nContent-Length: 0\n\nbody=-"
--- no_error_log
[error]
[alert]
[crit]



=== TEST 5: a timeout of 4294967295 ms (-1 as api7's host reads it) and a timeout of 0 are accepted and both calls answered; api7 refuses -1 ("invalid timeout")
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("hostcalls", "t/plugins/hostcalls.wasm"))
        package.loaded.ctx = assert(wasm.on_configure(plugin, [=[{"on_request_headers": [{"op": "dispatch", "upstream": "127.0.0.1:$TEST_NGINX_SERVER_PORT", "headers": [[":path", "/up?n=1"]], "timeout": 4294967295}],
 "on_http_call_response": [{"op": "status"}, {"op": "get_body"},
   {"op": "dispatch", "if_call": 1, "upstream": "127.0.0.1:$TEST_NGINX_SERVER_PORT", "headers": [[":path", "/up?n=2"]], "timeout": 0}]}]=]))
    }
--- config
    location /proxy-wasm-calls {
        internal;
        proxy_wasm_http_calls;
        proxy_pass $proxy_wasm_call_url;
        proxy_set_header Host $proxy_wasm_call_authority;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
    }
    location /t {
        access_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            assert(wasm.on_http_request_headers(package.loaded.ctx))
        }
        content_by_lua_block { ngx.say("content") }
    }
    location /up {
        content_by_lua_block { ngx.print("up ", ngx.var.arg_n) }
    }
--- request
GET /t
--- response_body
content
--- grep_error_log eval: qr/hostcalls: on_[a-z_]+: (?:dispatch|status|get_body) [^,\n]*/
--- grep_error_log_out eval
"hostcalls: on_request_headers: dispatch 127.0.0.1:$ENV{TEST_NGINX_SERVER_PORT} -> Ok token=1
hostcalls: on_http_call_response: status -> Ok 0 \"\"
hostcalls: on_http_call_response: get_body http_call_response_body -> Ok \"up 1\"
hostcalls: on_http_call_response: dispatch 127.0.0.1:$ENV{TEST_NGINX_SERVER_PORT} -> Ok token=2
hostcalls: on_http_call_response: status -> Ok 0 \"\"
hostcalls: on_http_call_response: get_body http_call_response_body -> Ok \"up 2\"
"
--- no_error_log
[error]
[alert]
[crit]



=== TEST 6: repeated headers in a call's response: both pairs in the map, in order; a get answers the first; a relay of the name sends both
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("hostcalls", "t/plugins/hostcalls.wasm"))
        package.loaded.ctx = assert(wasm.on_configure(plugin, [=[{"on_request_headers": [{"op": "dispatch", "upstream": "127.0.0.1:$TEST_NGINX_SERVER_PORT", "headers": [[":path", "/up"]]}],
 "on_http_call_response": [{"op": "log_pairs", "map": "http_call_response_headers"}, {"op": "get", "map": "http_call_response_headers", "key": "foo"}, {"op": "relay", "headers": ["foo"]}]}]=]))
    }
--- config
    location /proxy-wasm-calls {
        internal;
        proxy_wasm_http_calls;
        proxy_pass $proxy_wasm_call_url;
        proxy_set_header Host $proxy_wasm_call_authority;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
    }
    location /t {
        access_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            assert(wasm.on_http_request_headers(package.loaded.ctx))
        }
        content_by_lua_block { ngx.say("content") }
    }
    location /up {
        content_by_lua_block {
            ngx.header["Foo"] = {"bar", "baz"}
            ngx.print("repeated")
        }
    }
--- request
GET /t
--- response_headers
Foo: bar, baz
--- response_body chomp
repeated
--- grep_error_log eval: qr/hostcalls: on_http_call_response(?!: http_call_response_headers: (?:server|date):)[^,\n]*/
--- grep_error_log_out
hostcalls: on_http_call_response token=1 num_headers=8 body_size=8 num_trailers=0 call=1
hostcalls: on_http_call_response: http_call_response_headers: :status: 200
hostcalls: on_http_call_response: http_call_response_headers: content-type: text/plain
hostcalls: on_http_call_response: http_call_response_headers: transfer-encoding: chunked
hostcalls: on_http_call_response: http_call_response_headers: connection: keep-alive
hostcalls: on_http_call_response: http_call_response_headers: foo: bar
hostcalls: on_http_call_response: http_call_response_headers: foo: baz
hostcalls: on_http_call_response: http_call_response_headers: 8 pairs
hostcalls: on_http_call_response: get http_call_response_headers "foo" -> Ok "bar"
hostcalls: on_http_call_response: relay 200 -> Ok
--- no_error_log
[error]
[alert]
[crit]



=== TEST 7: three chained calls, each dispatched from the previous one's callback, then a local response 401 from the third callback
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("hostcalls", "t/plugins/hostcalls.wasm"))
        package.loaded.ctx = assert(wasm.on_configure(plugin, [=[{"on_request_headers": [{"op": "dispatch", "upstream": "127.0.0.1:$TEST_NGINX_SERVER_PORT", "headers": [[":path", "/up?n=1"]]}],
 "on_http_call_response": [{"op": "get_body"},
   {"op": "dispatch", "if_call": 1, "upstream": "127.0.0.1:$TEST_NGINX_SERVER_PORT", "headers": [[":path", "/up?n=2"]]},
   {"op": "dispatch", "if_call": 2, "upstream": "127.0.0.1:$TEST_NGINX_SERVER_PORT", "headers": [[":path", "/up?n=3"]]},
   {"op": "local_response", "if_call": 3, "status": 401, "body": "after three calls\n", "headers": [["x-calls", "3"]]}]}]=]))
    }
--- config
    location /proxy-wasm-calls {
        internal;
        proxy_wasm_http_calls;
        proxy_pass $proxy_wasm_call_url;
        proxy_set_header Host $proxy_wasm_call_authority;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
    }
    location /t {
        access_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            assert(wasm.on_http_request_headers(package.loaded.ctx))
        }
        content_by_lua_block { ngx.say("content") }
    }
    location /up {
        content_by_lua_block { ngx.print("up ", ngx.var.arg_n) }
    }
--- request
GET /t
--- error_code: 401
--- response_headers
X-Calls: 3
--- response_body
after three calls
--- grep_error_log eval: qr/hostcalls: on_http_call_response(?: token|: get_body|: dispatch|: local_response)[^,\n]*/
--- grep_error_log_out eval
"hostcalls: on_http_call_response token=1 num_headers=6 body_size=4 num_trailers=0 call=1
hostcalls: on_http_call_response: get_body http_call_response_body -> Ok \"up 1\"
hostcalls: on_http_call_response: dispatch 127.0.0.1:$ENV{TEST_NGINX_SERVER_PORT} -> Ok token=2
hostcalls: on_http_call_response token=2 num_headers=6 body_size=4 num_trailers=0 call=2
hostcalls: on_http_call_response: get_body http_call_response_body -> Ok \"up 2\"
hostcalls: on_http_call_response: dispatch 127.0.0.1:$ENV{TEST_NGINX_SERVER_PORT} -> Ok token=3
hostcalls: on_http_call_response token=3 num_headers=6 body_size=4 num_trailers=0 call=3
hostcalls: on_http_call_response: get_body http_call_response_body -> Ok \"up 3\"
hostcalls: on_http_call_response: local_response 401 -> Ok
"
--- no_error_log
[error]
[alert]
[crit]



=== TEST 8: twelve concurrent client requests share one plugin ctx; each dispatches its own call, the calls overlap, and each callback runs in its own request
--- http_config
    lua_shared_dict inflight 1m;
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("hostcalls", "t/plugins/hostcalls.wasm"))
        package.loaded.ctx = assert(wasm.on_configure(plugin, [=[{"on_request_headers": [{"op": "dispatch", "upstream": "127.0.0.1:$TEST_NGINX_SERVER_PORT", "headers": [[":path", "/up"]]}],
 "on_http_call_response": [{"op": "get_property", "path": ["arg_i"]}]}]=]))
    }
--- config
    location /proxy-wasm-calls {
        internal;
        proxy_wasm_http_calls;
        proxy_pass $proxy_wasm_call_url;
        proxy_set_header Host $proxy_wasm_call_authority;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
    }
    location /call {
        access_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            assert(wasm.on_http_request_headers(package.loaded.ctx))
        }
        content_by_lua_block { ngx.say("call ", ngx.var.arg_i) }
    }
    location /up {
        content_by_lua_block {
            local d = ngx.shared.inflight
            local now = d:incr("now", 1, 0)
            if now > (d:get("max") or 0) then d:set("max", now) end
            ngx.sleep(0.2)
            d:incr("now", -1)
            ngx.print("up")
        }
    }
    location /t {
        content_by_lua_block {
            local function get(i)
                local sock = ngx.socket.tcp()
                sock:settimeout(5000)
                assert(sock:connect("127.0.0.1", ngx.var.server_port))
                assert(sock:send("GET /call?i=" .. i .. " HTTP/1.0\r\nHost: localhost\r\n\r\n"))
                local answer = sock:receive("*a")
                sock:close()
                local status = answer and answer:match("^HTTP/1%.%d (%d+)") or "no answer"
                local body = answer and answer:match("\r\n\r\n(.*)$") or ""
                return status .. " " .. body
            end
            local threads = {}
            for i = 1, 12 do
                threads[i] = ngx.thread.spawn(get, i)
            end
            for i = 1, #threads do
                local _, line = ngx.thread.wait(threads[i])
                ngx.print(i, ": ", line)
            end
            ngx.say("overlapping calls: ", (ngx.shared.inflight:get("max") or 0) > 1)
        }
    }
--- request
GET /t
--- response_body
1: 200 call 1
2: 200 call 2
3: 200 call 3
4: 200 call 4
5: 200 call 5
6: 200 call 6
7: 200 call 7
8: 200 call 8
9: 200 call 9
10: 200 call 10
11: 200 call 11
12: 200 call 12
overlapping calls: true
--- timeout: 10
--- grep_error_log eval: qr/get_property arg_i -> Ok "(\d+)"(?=[^\n]*request: "GET \/call\?i=\1 HTTP)/
--- grep_error_log_out eval
qr/\A(?:get_property arg_i -> Ok "\d+"\n){12}\z/
--- error_log eval
qr/on_http_call_response: get_property arg_i -> Ok "12"/
--- no_error_log
[error]
[alert]
[crit]



=== TEST 9: a call and a local response from one callback, in either order: the local response answers and the call is dropped unsent with one line; api7 performs the call and skips the response
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("hostcalls", "t/plugins/hostcalls.wasm"))
        package.loaded.first = assert(wasm.on_configure(plugin, [=[{"on_request_headers": [
   {"op": "dispatch", "upstream": "127.0.0.1:$TEST_NGINX_SERVER_PORT", "headers": [[":path", "/up"]]},
   {"op": "local_response", "status": 503, "body": "answered\n"}],
 "on_http_call_response": [{"op": "log", "msg": "NEVER_CALLED"}]}]=]))
        package.loaded.second = assert(wasm.on_configure(plugin, [=[{"on_request_headers": [
   {"op": "local_response", "status": 503, "body": "answered\n"},
   {"op": "dispatch", "upstream": "127.0.0.1:$TEST_NGINX_SERVER_PORT", "headers": [[":path", "/up"]]}],
 "on_http_call_response": [{"op": "log", "msg": "NEVER_CALLED"}]}]=]))
    }
--- config
    location /proxy-wasm-calls {
        internal;
        proxy_wasm_http_calls;
        proxy_pass $proxy_wasm_call_url;
        proxy_set_header Host $proxy_wasm_call_authority;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
    }
    location /t {
        access_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            assert(wasm.on_http_request_headers(package.loaded[ngx.var.arg_ctx]))
        }
        content_by_lua_block { ngx.say("content") }
    }
    location /up {
        content_by_lua_block { ngx.log(ngx.ERR, "UP HIT") ngx.print("up") }
    }
--- request eval
["GET /t?ctx=first", "GET /t?ctx=second"]
--- error_code eval
[503, 503]
--- response_body eval
["answered\n", "answered\n"]
--- grep_error_log eval: qr/hostcalls: on_request_headers: (?:dispatch|local_response) [^,\n]*|wasm plugin "hostcalls": \d HTTP call\(s\) dropped[^,\n]*/
--- grep_error_log_out eval
qr/\A(?:hostcalls: on_request_headers: dispatch 127\.0\.0\.1:\d+ -> Ok token=\d+\nhostcalls: on_request_headers: local_response 503 -> Ok\n|hostcalls: on_request_headers: local_response 503 -> Ok\nhostcalls: on_request_headers: dispatch 127\.0\.0\.1:\d+ -> Ok token=\d+\n)wasm plugin "hostcalls": 1 HTTP call\(s\) dropped: the plugin answered with a local response\n\z/
--- error_log eval
qr/\[warn\] .*wasm plugin "hostcalls": 1 HTTP call\(s\) dropped: the plugin answered with a local response/
--- no_error_log
[error]
NEVER_CALLED
UP HIT
[alert]
[crit]



=== TEST 10: a chained call and a local response from one call callback: the local response answers, the chained call is dropped unsent with one line
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("hostcalls", "t/plugins/hostcalls.wasm"))
        package.loaded.ctx = assert(wasm.on_configure(plugin, [=[{"on_request_headers": [{"op": "dispatch", "upstream": "127.0.0.1:$TEST_NGINX_SERVER_PORT", "headers": [[":path", "/up"]]}],
 "on_http_call_response": [{"op": "get_body"},
   {"op": "dispatch", "if_call": 1, "upstream": "127.0.0.1:$TEST_NGINX_SERVER_PORT", "headers": [[":path", "/never"]]},
   {"op": "local_response", "if_call": 1, "status": 403, "body": "from the callback\n"},
   {"op": "log", "if_call": 2, "msg": "NEVER_CALLED"}]}]=]))
    }
--- config
    location /proxy-wasm-calls {
        internal;
        proxy_wasm_http_calls;
        proxy_pass $proxy_wasm_call_url;
        proxy_set_header Host $proxy_wasm_call_authority;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
    }
    location /t {
        access_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            assert(wasm.on_http_request_headers(package.loaded.ctx))
        }
        content_by_lua_block { ngx.say("content") }
    }
    location /up {
        content_by_lua_block { ngx.print("up") }
    }
    location /never {
        content_by_lua_block { ngx.log(ngx.ERR, "NEVER HIT") ngx.print("never") }
    }
--- request
GET /t
--- error_code: 403
--- response_body
from the callback
--- grep_error_log eval: qr/hostcalls: on_http_call_response(?: token|: get_body|: local_response)[^,\n]*|wasm plugin "hostcalls": \d HTTP call\(s\) dropped[^,\n]*/
--- grep_error_log_out
hostcalls: on_http_call_response token=1 num_headers=6 body_size=2 num_trailers=0 call=1
hostcalls: on_http_call_response: get_body http_call_response_body -> Ok "up"
hostcalls: on_http_call_response: local_response 403 -> Ok
wasm plugin "hostcalls": 1 HTTP call(s) dropped: the plugin answered with a local response
--- error_log eval
qr/\[warn\] .*wasm plugin "hostcalls": 1 HTTP call\(s\) dropped: the plugin answered with a local response/
--- no_error_log
[error]
NEVER_CALLED
NEVER HIT
[alert]
[crit]



=== TEST 11: a call dispatched from on_http_request_body; its callback answers 503 with nginx's page and the content handler does not run
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("hostcalls", "t/plugins/hostcalls.wasm"))
        package.loaded.ctx = assert(wasm.on_configure(plugin, [=[{"on_request_body": [{"op": "get_body"}, {"op": "dispatch", "upstream": "127.0.0.1:$TEST_NGINX_SERVER_PORT", "headers": [[":path", "/up?body=helloworld"]]}],
 "on_http_call_response": [{"op": "get_body"}, {"op": "local_response", "status": 503}]}]=]))
    }
--- config
    location /proxy-wasm-calls {
        internal;
        proxy_wasm_http_calls;
        proxy_pass $proxy_wasm_call_url;
        proxy_set_header Host $proxy_wasm_call_authority;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
    }
    location /t {
        content_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            ngx.req.read_body()
            assert(wasm.on_http_request_body(package.loaded.ctx, ngx.req.get_body_data() or "", true))
            ngx.log(ngx.ERR, "CONTENT RAN")
            ngx.say("content")
        }
    }
    location /up {
        content_by_lua_block { ngx.print(ngx.var.arg_body) }
    }
--- request
POST /t
payload
--- error_code: 503
--- response_body_like: 503 Service Temporarily Unavailable
--- grep_error_log eval: qr/hostcalls: on_(?:request_body|http_call_response)[^,\n]*/
--- grep_error_log_out eval
"hostcalls: on_request_body body_size=7 end_of_stream=true
hostcalls: on_request_body: get_body request_body -> Ok \"payload\"
hostcalls: on_request_body: dispatch 127.0.0.1:$ENV{TEST_NGINX_SERVER_PORT} -> Ok token=1
hostcalls: on_http_call_response token=1 num_headers=6 body_size=10 num_trailers=0 call=1
hostcalls: on_http_call_response: get_body http_call_response_body -> Ok \"helloworld\"
hostcalls: on_http_call_response: local_response 503 -> Ok
"
--- no_error_log
[error]
[alert]
[crit]



=== TEST 12: slices of a call's body "helloworld": eight (start, max) pairs, a max past the end clamped to what is there
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("hostcalls", "t/plugins/hostcalls.wasm"))
        package.loaded.ctx = assert(wasm.on_configure(plugin, [=[{"on_request_headers": [{"op": "dispatch", "upstream": "127.0.0.1:$TEST_NGINX_SERVER_PORT", "headers": [[":path", "/up"]]}],
 "on_http_call_response": [
   {"op": "get_body", "start": 0, "max": 2}, {"op": "get_body", "start": 1, "max": 1}, {"op": "get_body", "start": 1, "max": 2},
   {"op": "get_body", "start": 0, "max": 10}, {"op": "get_body", "start": 1, "max": 9}, {"op": "get_body", "start": 8, "max": 2},
   {"op": "get_body", "start": 9, "max": 1}, {"op": "get_body", "start": 1, "max": 10}]}]=]))
    }
--- config
    location /proxy-wasm-calls {
        internal;
        proxy_wasm_http_calls;
        proxy_pass $proxy_wasm_call_url;
        proxy_set_header Host $proxy_wasm_call_authority;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
    }
    location /t {
        access_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            assert(wasm.on_http_request_headers(package.loaded.ctx))
        }
        content_by_lua_block { ngx.say("content") }
    }
    location /up {
        content_by_lua_block { ngx.print("helloworld") }
    }
--- request
GET /t
--- response_body
content
--- grep_error_log eval: qr/get_body http_call_response_body -> [^,\n]*/
--- grep_error_log_out
get_body http_call_response_body -> Ok "he"
get_body http_call_response_body -> Ok "e"
get_body http_call_response_body -> Ok "el"
get_body http_call_response_body -> Ok "helloworld"
get_body http_call_response_body -> Ok "elloworld"
get_body http_call_response_body -> Ok "ld"
get_body http_call_response_body -> Ok "d"
get_body http_call_response_body -> Ok "elloworld"
--- no_error_log
[error]
[alert]
[crit]



=== TEST 13: api7's bad cases on a call's body: only a start past the end is BadArgument here; max 0 and start == length read Ok "", max 4294967295 reads the rest (api7 answers BadArgument to all four)
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("hostcalls", "t/plugins/hostcalls.wasm"))
        package.loaded.ctx = assert(wasm.on_configure(plugin, [=[{"on_request_headers": [{"op": "dispatch", "upstream": "127.0.0.1:$TEST_NGINX_SERVER_PORT", "headers": [[":path", "/up"]]}],
 "on_http_call_response": [
   {"op": "get_body", "start": 4294967295, "max": 2}, {"op": "get_body", "start": 1, "max": 0},
   {"op": "get_body", "start": 1, "max": 4294967295}, {"op": "get_body", "start": 10, "max": 2},
   {"op": "get_body", "start": 11, "max": 1}]}]=]))
    }
--- config
    location /proxy-wasm-calls {
        internal;
        proxy_wasm_http_calls;
        proxy_pass $proxy_wasm_call_url;
        proxy_set_header Host $proxy_wasm_call_authority;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
    }
    location /t {
        access_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            assert(wasm.on_http_request_headers(package.loaded.ctx))
        }
        content_by_lua_block { ngx.say("content") }
    }
    location /up {
        content_by_lua_block { ngx.print("helloworld") }
    }
--- request
GET /t
--- response_body
content
--- grep_error_log eval: qr/get_body http_call_response_body -> [^,\n]*/
--- grep_error_log_out
get_body http_call_response_body -> BadArgument
get_body http_call_response_body -> Ok ""
get_body http_call_response_body -> Ok "elloworld"
get_body http_call_response_body -> Ok ""
get_body http_call_response_body -> BadArgument
--- no_error_log
[error]
[alert]
[crit]



=== TEST 14: a call answered with an empty body: body_size 0, the buffer has length 0 and reads Ok "" at start 0 (api7 answers NotFound), start 1 is BadArgument
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("hostcalls", "t/plugins/hostcalls.wasm"))
        package.loaded.ctx = assert(wasm.on_configure(plugin, [=[{"on_request_headers": [{"op": "dispatch", "upstream": "127.0.0.1:$TEST_NGINX_SERVER_PORT", "headers": [[":path", "/empty"]]}],
 "on_http_call_response": [{"op": "get", "map": "http_call_response_headers", "key": ":status"}, {"op": "buffer_status"}, {"op": "get_body"}, {"op": "get_body", "start": 1, "max": 1}]}]=]))
    }
--- config
    location /proxy-wasm-calls {
        internal;
        proxy_wasm_http_calls;
        proxy_pass $proxy_wasm_call_url;
        proxy_set_header Host $proxy_wasm_call_authority;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
    }
    location /t {
        access_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            assert(wasm.on_http_request_headers(package.loaded.ctx))
        }
        content_by_lua_block { ngx.say("content") }
    }
    location = /empty {
        return 200 "";
    }
--- request
GET /t
--- response_body
content
--- grep_error_log eval: qr/hostcalls: on_http_call_response[^,\n]*/
--- grep_error_log_out
hostcalls: on_http_call_response token=1 num_headers=6 body_size=0 num_trailers=0 call=1
hostcalls: on_http_call_response: get http_call_response_headers ":status" -> Ok "200"
hostcalls: on_http_call_response: buffer_status http_call_response_body -> Ok length=0 flags=1
hostcalls: on_http_call_response: get_body http_call_response_body -> Ok ""
hostcalls: on_http_call_response: get_body http_call_response_body -> BadArgument
--- no_error_log
[error]
[alert]
[crit]
