# HTTP calls (proxy_http_call / proxy_dispatch_http_call) through the Lua API: performed by nginx as subrequests
# through the location marked proxy_wasm_http_calls while the request waits, responses delivered to
# proxy_on_http_call_response (map 6, buffer 4), local responses made of them, parallel and chained calls,
# timeouts and refused connections (callback with zero headers), bad arguments, and the request going on after the
# plugin continues. Plugin: t/plugins/hostcalls (config-driven).
use Test::Nginx::Socket::Lua 'no_plan';

log_level('info');
no_shuffle();
run_tests();

__DATA__

=== TEST 1: a call's response becomes the local response: status, headers and body of the call
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("hostcalls", "t/plugins/hostcalls.wasm"))
        package.loaded.ctx = assert(wasm.on_configure(plugin, [=[{"on_request_headers": [{"op": "dispatch", "upstream": "127.0.0.1:$TEST_NGINX_SERVER_PORT", "headers": [[":method", "POST"], [":path", "/up"], [":authority", "up.test"], ["x-req", "r1"]], "body": "ping"}, {"op": "return", "action": "pause"}],
 "on_http_call_response": [{"op": "log_pairs", "map": "http_call_response_headers"}, {"op": "get", "map": "http_call_response_headers", "key": ":status"}, {"op": "get_body"}, {"op": "relay", "headers": ["x-up"]}]}]=]))
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
            ngx.status = 201
            ngx.header["X-Up"] = "yes"
            ngx.print("up ", ngx.req.get_method(), " ", ngx.var.http_x_req or "-", " ", ngx.req.get_body_data() or "-", " ", ngx.var.http_host)
        }
    }
    location /slow {
        content_by_lua_block { ngx.sleep(tonumber(ngx.var.arg_s)) ngx.print("slow ", ngx.var.arg_s) }
    }
--- request
GET /t
--- error_code: 201
--- response_headers
X-Up: yes
--- response_body chomp
up POST r1 ping up.test
--- grep_error_log eval: qr/hostcalls: on_http_call_response(?!: http_call_response_headers: (?:server|date):)[^,]*/
--- grep_error_log_out
hostcalls: on_http_call_response token=1 num_headers=7 body_size=23 num_trailers=0 call=1
hostcalls: on_http_call_response: http_call_response_headers: :status: 201
hostcalls: on_http_call_response: http_call_response_headers: content-type: text/plain
hostcalls: on_http_call_response: http_call_response_headers: transfer-encoding: chunked
hostcalls: on_http_call_response: http_call_response_headers: connection: keep-alive
hostcalls: on_http_call_response: http_call_response_headers: x-up: yes
hostcalls: on_http_call_response: http_call_response_headers: 7 pairs
hostcalls: on_http_call_response: get http_call_response_headers ":status" -> Ok "201"
hostcalls: on_http_call_response: get_body http_call_response_body -> Ok "up POST r1 ping up.test"
hostcalls: on_http_call_response: relay 201 -> Ok
--- error_log eval
qr/dispatch 127\.0\.0\.1:\d+ -> Ok token=1/
--- no_error_log
[error]
[alert]
[crit]



=== TEST 2: two calls from one callback run in parallel: the fast one is answered first, the request then goes on
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("hostcalls", "t/plugins/hostcalls.wasm"))
        package.loaded.ctx = assert(wasm.on_configure(plugin, [=[{"on_request_headers": [{"op": "dispatch", "upstream": "127.0.0.1:$TEST_NGINX_SERVER_PORT", "headers": [[":method", "GET"], [":path", "/slow?s=0.3"], [":authority", "up.test"]]}, {"op": "dispatch", "upstream": "127.0.0.1:$TEST_NGINX_SERVER_PORT", "headers": [[":method", "GET"], [":path", "/slow?s=0.01"], [":authority", "up.test"]]}, {"op": "return", "action": "pause"}],
 "on_http_call_response": [{"op": "get_body"}, {"op": "continue", "if_call": 2}]}]=]))
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
            ngx.status = 201
            ngx.header["X-Up"] = "yes"
            ngx.print("up ", ngx.req.get_method(), " ", ngx.var.http_x_req or "-", " ", ngx.req.get_body_data() or "-", " ", ngx.var.http_host)
        }
    }
    location /slow {
        content_by_lua_block { ngx.sleep(tonumber(ngx.var.arg_s)) ngx.print("slow ", ngx.var.arg_s) }
    }
--- request
GET /t
--- response_body
content
--- grep_error_log eval: qr/hostcalls: on_http_call_response[^,]*/
--- grep_error_log_out
hostcalls: on_http_call_response token=2 num_headers=6 body_size=9 num_trailers=0 call=1
hostcalls: on_http_call_response: get_body http_call_response_body -> Ok "slow 0.01"
hostcalls: on_http_call_response token=1 num_headers=6 body_size=8 num_trailers=0 call=2
hostcalls: on_http_call_response: get_body http_call_response_body -> Ok "slow 0.3"
hostcalls: on_http_call_response: continue -> Ok
--- no_error_log
[error]
[alert]
[crit]



=== TEST 3: a chained call from the call callback; its response becomes the local response
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("hostcalls", "t/plugins/hostcalls.wasm"))
        package.loaded.ctx = assert(wasm.on_configure(plugin, [=[{"on_request_headers": [{"op": "dispatch", "upstream": "127.0.0.1:$TEST_NGINX_SERVER_PORT", "headers": [[":method", "GET"], [":path", "/slow?s=0"], [":authority", "up.test"]]}],
 "on_http_call_response": [{"op": "get_body"}, {"op": "dispatch", "upstream": "127.0.0.1:$TEST_NGINX_SERVER_PORT", "headers": [[":method", "GET"], [":path", "/up"], [":authority", "up.test"], ["x-req", "second"]], "if_call": 1}, {"op": "relay", "if_call": 2}]}]=]))
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
            ngx.status = 201
            ngx.header["X-Up"] = "yes"
            ngx.print("up ", ngx.req.get_method(), " ", ngx.var.http_x_req or "-", " ", ngx.req.get_body_data() or "-", " ", ngx.var.http_host)
        }
    }
    location /slow {
        content_by_lua_block { ngx.sleep(tonumber(ngx.var.arg_s)) ngx.print("slow ", ngx.var.arg_s) }
    }
--- request
GET /t
--- error_code: 201
--- response_body chomp
up GET second - up.test
--- grep_error_log eval: qr/hostcalls: on_http_call_response(?: token|: dispatch|: relay)[^,]*/
--- grep_error_log_out eval
"hostcalls: on_http_call_response token=1 num_headers=6 body_size=6 num_trailers=0 call=1
hostcalls: on_http_call_response: dispatch 127.0.0.1:$ENV{TEST_NGINX_SERVER_PORT} -> Ok token=2
hostcalls: on_http_call_response token=2 num_headers=7 body_size=23 num_trailers=0 call=2
hostcalls: on_http_call_response: relay 201 -> Ok
"
--- no_error_log
[error]
[alert]
[crit]



=== TEST 4: a call past its timeout still runs the callback, with zero headers and no body
--- http_config
    lua_package_path "lua/?.lua;;";
    lua_socket_log_errors off;
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("hostcalls", "t/plugins/hostcalls.wasm"))
        package.loaded.ctx = assert(wasm.on_configure(plugin, [=[{"on_request_headers": [{"op": "dispatch", "upstream": "127.0.0.1:$TEST_NGINX_SERVER_PORT", "headers": [[":method", "GET"], [":path", "/slow?s=1"], [":authority", "up.test"]], "timeout": 100}, {"op": "return", "action": "pause"}],
 "on_http_call_response": [{"op": "size", "map": "http_call_response_headers"}, {"op": "get_body"}, {"op": "continue"}]}]=]))
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
            ngx.status = 201
            ngx.header["X-Up"] = "yes"
            ngx.print("up ", ngx.req.get_method(), " ", ngx.var.http_x_req or "-", " ", ngx.req.get_body_data() or "-", " ", ngx.var.http_host)
        }
    }
    location /slow {
        content_by_lua_block { ngx.sleep(tonumber(ngx.var.arg_s)) ngx.print("slow ", ngx.var.arg_s) }
    }
--- request
GET /t
--- response_body
content
--- grep_error_log eval: qr/hostcalls: on_http_call_response[^,]*/
--- grep_error_log_out
hostcalls: on_http_call_response token=1 num_headers=0 body_size=0 num_trailers=0 call=1
hostcalls: on_http_call_response: size http_call_response_headers -> Ok 4
hostcalls: on_http_call_response: get_body http_call_response_body -> Ok ""
hostcalls: on_http_call_response: continue -> Ok
--- error_log eval
qr/\[warn\].*wasm plugin "hostcalls": HTTP call 1 to 127\.0\.0\.1:\d+ failed: timed out/
--- no_error_log
[error]
[alert]
[crit]



=== TEST 5: a refused connection still runs the callback, with zero headers; the plugin answers
--- http_config
    lua_package_path "lua/?.lua;;";
    lua_socket_log_errors off;
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("hostcalls", "t/plugins/hostcalls.wasm"))
        package.loaded.ctx = assert(wasm.on_configure(plugin, [=[{"on_request_headers": [{"op": "dispatch", "upstream": "127.0.0.1:1", "headers": [[":method", "GET"], [":path", "/"], [":authority", "x"]]}],
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
            ngx.status = 201
            ngx.header["X-Up"] = "yes"
            ngx.print("up ", ngx.req.get_method(), " ", ngx.var.http_x_req or "-", " ", ngx.req.get_body_data() or "-", " ", ngx.var.http_host)
        }
    }
    location /slow {
        content_by_lua_block { ngx.sleep(tonumber(ngx.var.arg_s)) ngx.print("slow ", ngx.var.arg_s) }
    }
--- request
GET /t
--- error_code: 502
--- grep_error_log eval: qr/hostcalls: on_http_call_response[^,]*/
--- grep_error_log_out
hostcalls: on_http_call_response token=1 num_headers=0 body_size=0 num_trailers=0 call=1
hostcalls: on_http_call_response: relay 502 -> Ok
--- error_log eval
[qr/\[error\] .*connect\(\) failed \(111: Connection refused\) while connecting to upstream/,
qr/\[warn\].*wasm plugin "hostcalls": HTTP call 1 to 127\.0\.0\.1:1 failed: no response from the upstream \(nginx ended the call with 502: see its error line\)/]
--- no_error_log
[alert]
[crit]



=== TEST 6: bad arguments: a bad header, a bad upstream are BadArgument (logged); nothing is performed
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("hostcalls", "t/plugins/hostcalls.wasm"))
        package.loaded.ctx = assert(wasm.on_configure(plugin, [=[{"on_request_headers": [
 {"op": "dispatch", "upstream": "127.0.0.1:1", "headers": [[":method", "GET"], [":path", "/"], [":authority", "x"], ["x-a", "v\r\nx-b: 1"]]},
 {"op": "dispatch", "upstream": "", "headers": [[":method", "GET"], [":path", "/"], [":authority", "x"]]}],
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
            assert(wasm.on_http_request_headers(package.loaded.ctx))
        }
        content_by_lua_block { ngx.say("content") }
    }
    location /up {
        content_by_lua_block {
            ngx.req.read_body()
            ngx.status = 201
            ngx.header["X-Up"] = "yes"
            ngx.print("up ", ngx.req.get_method(), " ", ngx.var.http_x_req or "-", " ", ngx.req.get_body_data() or "-", " ", ngx.var.http_host)
        }
    }
    location /slow {
        content_by_lua_block { ngx.sleep(tonumber(ngx.var.arg_s)) ngx.print("slow ", ngx.var.arg_s) }
    }
--- request
GET /t
--- response_body
content
--- grep_error_log eval: qr/(?:dispatch \S* -> \w+|proxy_http_call: [^,]*)/
--- grep_error_log_out
proxy_http_call: bad header "x-a"
dispatch 127.0.0.1:1 -> BadArgument
proxy_http_call: bad upstream (want host[:port] or an upstream name)
dispatch  -> BadArgument
--- no_error_log
NEVER_CALLED
[alert]
[crit]



=== TEST 7: the request goes on upstream after the plugin paused and continued from the call callback
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("hostcalls", "t/plugins/hostcalls.wasm"))
        package.loaded.ctx = assert(wasm.on_configure(plugin, [=[{"on_request_headers": [{"op": "dispatch", "upstream": "127.0.0.1:$TEST_NGINX_SERVER_PORT", "headers": [[":method", "GET"], [":path", "/slow?s=0"], [":authority", "up.test"]]}, {"op": "return", "action": "pause"}],
 "on_http_call_response": [{"op": "continue"}]}]=]))
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
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location /up {
        content_by_lua_block {
            ngx.req.read_body()
            ngx.status = 201
            ngx.header["X-Up"] = "yes"
            ngx.print("up ", ngx.req.get_method(), " ", ngx.var.http_x_req or "-", " ", ngx.req.get_body_data() or "-", " ", ngx.var.http_host)
        }
    }
    location /slow {
        content_by_lua_block { ngx.sleep(tonumber(ngx.var.arg_s)) ngx.print("slow ", ngx.var.arg_s) }
    }
--- request
GET /t
--- error_code: 201
--- response_body chomp
up GET - - 127.0.0.1:$ServerPort
--- error_log
hostcalls: on_http_call_response: continue -> Ok
--- no_error_log
[error]
[alert]
[crit]



=== TEST 8: a call from a response callback cannot be performed: the plugin gets BadArgument at once (as on api7's host), with an error line; the response goes on
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("hostcalls", "t/plugins/hostcalls.wasm"))
        package.loaded.ctx = assert(wasm.on_configure(plugin, [=[{"on_response_headers": [{"op": "dispatch", "upstream": "127.0.0.1:$TEST_NGINX_SERVER_PORT", "headers": [[":method", "GET"], [":path", "/up"], [":authority", "up.test"]]}],
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
            assert(wasm.on_http_request_headers(package.loaded.ctx))
        }
        content_by_lua_block { ngx.say("content") }
        header_filter_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            assert(wasm.on_http_response_headers(package.loaded.ctx))
        }
    }
    location /up {
        content_by_lua_block {
            ngx.req.read_body()
            ngx.status = 201
            ngx.header["X-Up"] = "yes"
            ngx.print("up ", ngx.req.get_method(), " ", ngx.var.http_x_req or "-", " ", ngx.req.get_body_data() or "-", " ", ngx.var.http_host)
        }
    }
    location /slow {
        content_by_lua_block { ngx.sleep(tonumber(ngx.var.arg_s)) ngx.print("slow ", ngx.var.arg_s) }
    }
--- request
GET /t
--- response_body
content
--- error_log eval
[
qr/wasm plugin "hostcalls": proxy_http_call: HTTP calls cannot be dispatched from a response callback \(the response cannot wait for them\)/,
qr/hostcalls: on_response_headers: dispatch 127\.0\.0\.1:\d+ -> BadArgument/,
]
--- no_error_log
dropped
NEVER_CALLED
[alert]
[crit]



=== TEST 9: api7's defaults: no :method is GET, no :path is /, a relative :path gets its /, no :authority is the upstream
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("hostcalls", "t/plugins/hostcalls.wasm"))
        package.loaded.ctx = assert(wasm.on_configure(plugin, [=[{"on_request_headers": [
 {"op": "dispatch", "upstream": "127.0.0.1:$TEST_NGINX_SERVER_PORT", "headers": []},
 {"op": "dispatch", "upstream": "127.0.0.1:$TEST_NGINX_SERVER_PORT", "headers": [[":path", "up?x=1"]]}],
 "on_http_call_response": [{"op": "get_body"}]}]=]))
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
    location = / {
        return 200 "root $request_method $http_host";
    }
    location = /up {
        return 200 "up $request_method $args $http_host";
    }
--- request
GET /t
--- response_body
content
--- grep_error_log eval: qr/hostcalls: on_http_call_response: get_body [^,]*/
--- grep_error_log_out eval
qr/\Ahostcalls: on_http_call_response: get_body http_call_response_body -> Ok "(?:root GET 127\.0\.0\.1:\d+|up GET x=1 127\.0\.0\.1:\d+)"\nhostcalls: on_http_call_response: get_body http_call_response_body -> Ok "(?:root GET 127\.0\.0\.1:\d+|up GET x=1 127\.0\.0\.1:\d+)"\n\z/
--- error_log
"root GET 127.0.0.1:
"up GET x=1 127.0.0.1:
--- no_error_log
[error]
[alert]
[crit]
