# HTTP calls on the directive path (no Lua): each call is a subrequest through the location marked
# proxy_wasm_http_calls (nginx's proxy module performs it) while the request waits in its access phase; responses
# reach proxy_on_http_call_response (map 6, buffer 4); parallel and chained calls, timeouts, refused connections
# and unresolvable hosts (callback with zero headers), local responses made of a call's response, and the request
# going on after the calls. The same scenarios as t/25-http-call.t, which runs them through the Lua API. Plugin:
# t/plugins/hostcalls (config-driven).
use Test::Nginx::Socket 'no_plan';

log_level('info');
no_shuffle();
run_tests();

__DATA__

=== TEST 1: a call's response becomes the local response: status, headers and body of the call
--- http_config
    wasm_plugin hostcalls ../../t/plugins/hostcalls.wasm;
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
        proxy_wasm hostcalls '{"on_request_headers": [{"op": "dispatch", "upstream": "127.0.0.1:$TEST_NGINX_SERVER_PORT", "headers": [[":method", "POST"], [":path", "/up?x=1"], [":authority", "up.test"], ["x-req", "r1"]], "body": "ping"}, {"op": "return", "action": "pause"}],
                               "on_http_call_response": [{"op": "get", "map": "http_call_response_headers", "key": ":status"}, {"op": "get_body"}, {"op": "status"}, {"op": "relay", "headers": ["x-up"]}]}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/ok;
    }
    location = /up {
        add_header X-Up "$request_method $http_x_req $content_length $http_host $args";
        return 201 "up\n";
    }
    location = /ok {
        return 200 "ok\n";
    }
--- request
GET /t
--- error_code: 201
--- response_headers
X-Up: POST r1 4 up.test x=1
--- response_body
up
--- grep_error_log eval: qr/hostcalls: on_http_call_response[^,]*/
--- grep_error_log_out
hostcalls: on_http_call_response token=1 num_headers=7 body_size=3 num_trailers=0 call=1
hostcalls: on_http_call_response: get http_call_response_headers ":status" -> Ok "201"
hostcalls: on_http_call_response: get_body http_call_response_body -> Ok "up\n"
hostcalls: on_http_call_response: status -> Ok 0 ""
hostcalls: on_http_call_response: relay 201 -> Ok
--- no_error_log
[error]
[alert]
[crit]



=== TEST 2: two calls from one callback run in parallel: the fast one is answered first, the request then goes on
--- http_config
    wasm_plugin hostcalls ../../t/plugins/hostcalls.wasm;
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
        proxy_wasm hostcalls '{"on_request_headers": [{"op": "dispatch", "upstream": "127.0.0.1:$TEST_NGINX_SERVER_PORT", "headers": [[":method", "GET"], [":path", "/slow"], [":authority", "up.test"]], "timeout": 5000},
                                                      {"op": "dispatch", "upstream": "127.0.0.1:$TEST_NGINX_SERVER_PORT", "headers": [[":method", "GET"], [":path", "/fast"], [":authority", "up.test"]]},
                                                      {"op": "return", "action": "pause"}],
                               "on_http_call_response": [{"op": "get_body", "if_call": 1}, {"op": "continue", "if_call": 2}]}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/ok;
    }
    # The header and body (about 250 bytes) at 200 bytes/s: the last bytes leave after a second.
    location = /slow {
        limit_rate 200;
        return 200 "ssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssss";
    }
    location = /fast {
        return 200 "fast";
    }
    location = /ok {
        return 200 "ok\n";
    }
--- request
GET /t
--- response_body
ok
--- grep_error_log eval: qr/hostcalls: on_http_call_response[^,]*/
--- grep_error_log_out
hostcalls: on_http_call_response token=2 num_headers=6 body_size=4 num_trailers=0 call=1
hostcalls: on_http_call_response: get_body http_call_response_body -> Ok "fast"
hostcalls: on_http_call_response token=1 num_headers=6 body_size=100 num_trailers=0 call=2
hostcalls: on_http_call_response: continue -> Ok
--- no_error_log
[error]
[alert]
[crit]



=== TEST 3: a chained call from the call callback; its response becomes the local response
--- http_config
    wasm_plugin hostcalls ../../t/plugins/hostcalls.wasm;
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
        proxy_wasm hostcalls '{"on_request_headers": [{"op": "dispatch", "upstream": "127.0.0.1:$TEST_NGINX_SERVER_PORT", "headers": [[":method", "GET"], [":path", "/fast"], [":authority", "up.test"]]}],
                               "on_http_call_response": [{"op": "get_body"},
                                                         {"op": "dispatch", "upstream": "127.0.0.1:$TEST_NGINX_SERVER_PORT", "headers": [[":method", "GET"], [":path", "/up"], [":authority", "up.test"], ["x-req", "second"]], "if_call": 1},
                                                         {"op": "relay", "if_call": 2}]}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/ok;
    }
    location = /fast {
        return 200 "fast";
    }
    location = /up {
        return 201 "up $http_x_req\n";
    }
    location = /ok {
        return 200 "ok\n";
    }
--- request
GET /t
--- error_code: 201
--- response_body
up second
--- grep_error_log eval: qr/hostcalls: on_http_call_response(?: token|: dispatch|: relay)[^,]*/
--- grep_error_log_out eval
"hostcalls: on_http_call_response token=1 num_headers=6 body_size=4 num_trailers=0 call=1
hostcalls: on_http_call_response: dispatch 127.0.0.1:$ENV{TEST_NGINX_SERVER_PORT} -> Ok token=2
hostcalls: on_http_call_response token=2 num_headers=6 body_size=10 num_trailers=0 call=2
hostcalls: on_http_call_response: relay 201 -> Ok
"
--- no_error_log
[error]
[alert]
[crit]



=== TEST 4: a call past its timeout still runs the callback, with zero headers and no body; the request goes on
--- http_config
    wasm_plugin hostcalls ../../t/plugins/hostcalls.wasm;
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
        proxy_wasm hostcalls '{"on_request_headers": [{"op": "dispatch", "upstream": "127.0.0.1:$TEST_NGINX_SERVER_PORT", "headers": [[":method", "GET"], [":path", "/slow"], [":authority", "up.test"]], "timeout": 200}, {"op": "return", "action": "pause"}],
                               "on_http_call_response": [{"op": "size", "map": "http_call_response_headers"}, {"op": "get_body"}, {"op": "continue"}]}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/ok;
    }
    location = /slow {
        limit_rate 200;
        return 200 "ssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssss";
    }
    location = /ok {
        return 200 "ok\n";
    }
--- request
GET /t
--- response_body
ok
--- grep_error_log eval: qr/hostcalls: on_http_call_response[^,]*/
--- grep_error_log_out
hostcalls: on_http_call_response token=1 num_headers=0 body_size=0 num_trailers=0 call=1
hostcalls: on_http_call_response: size http_call_response_headers -> Ok 4
hostcalls: on_http_call_response: get_body http_call_response_body -> Ok ""
hostcalls: on_http_call_response: continue -> Ok
--- error_log eval
qr/\[warn\] .*wasm plugin "hostcalls": HTTP call 1 to 127\.0\.0\.1:\d+ failed: timed out/
--- no_error_log
[error]
[alert]
[crit]



=== TEST 5: a refused connection and a host name run the callback with zero headers; the plugin answers
--- http_config
    wasm_plugin hostcalls ../../t/plugins/hostcalls.wasm;
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
        proxy_wasm hostcalls '{"on_request_headers": [{"op": "dispatch", "upstream": "127.0.0.1:1", "headers": [[":method", "GET"], [":path", "/"], [":authority", "x"]]},
                                                      {"op": "dispatch", "upstream": "upstream.invalid:80", "headers": [[":method", "GET"], [":path", "/"], [":authority", "x"]]}],
                               "on_http_call_response": [{"op": "status"}, {"op": "local_response", "status": 503,  "body": "no backend\\n", "if_call": 2}]}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/ok;
    }
    location = /ok {
        return 200 "ok\n";
    }
--- request
GET /t
--- error_code: 503
--- response_body
no backend
--- grep_error_log eval: qr/hostcalls: on_http_call_response token[^,]*/
--- grep_error_log_out eval
qr/\Ahostcalls: on_http_call_response token=[12] num_headers=0 body_size=0 num_trailers=0 call=1
hostcalls: on_http_call_response token=[12] num_headers=0 body_size=0 num_trailers=0 call=2
\z/
--- error_log eval
[qr/hostcalls: on_http_call_response: status -> Ok 11 "the call failed: no response"/,
qr/\[error\] .*connect\(\) failed \(111: Connection refused\) while connecting to upstream.*upstream: "http:\/\/127\.0\.0\.1:1\//,
qr/\[warn\] .*HTTP call \d to 127\.0\.0\.1:1 failed: no response from the upstream \(nginx ended the call with 502: see its error line\)/,
qr/\[error\] .*no resolver defined to resolve upstream\.invalid/,
qr/\[warn\] .*HTTP call \d to upstream\.invalid:80 failed: no response from the upstream \(nginx ended the call with 502: see its error line\)/]
--- no_error_log
[alert]
[crit]



=== TEST 6: calls from the request body callback; the body the plugin saw is proxied on
--- http_config
    wasm_plugin hostcalls ../../t/plugins/hostcalls.wasm;
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
        proxy_wasm hostcalls '{"on_request_body": [{"op": "dispatch", "upstream": "127.0.0.1:$TEST_NGINX_SERVER_PORT", "headers": [[":method", "GET"], [":path", "/fast"], [":authority", "up.test"]]}, {"op": "set_body", "value": "!", "mode": "append", "if_eos": true}],
                               "on_http_call_response": [{"op": "get_body"}]}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/echo;
    }
    location = /fast {
        return 200 "fast";
    }
    location = /echo {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/sink;
        add_header X-Body $request_body;
    }
    location = /sink {
        return 200 "sunk\n";
    }
--- request
POST /t
hello
--- response_headers
X-Body: hello!
--- response_body
sunk
--- error_log
hostcalls: on_http_call_response: get_body http_call_response_body -> Ok "fast"
--- no_error_log
[error]
[alert]
[crit]



=== TEST 7: a chain of two plugins: the first waits for its call, the second runs after it
--- http_config
    wasm_plugin hostcalls ../../t/plugins/hostcalls.wasm;
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
        proxy_wasm hostcalls '{"on_request_headers": [{"op": "log", "msg": "first"}, {"op": "dispatch", "upstream": "127.0.0.1:$TEST_NGINX_SERVER_PORT", "headers": [[":method", "GET"], [":path", "/fast"], [":authority", "up.test"]]}],
                               "on_http_call_response": [{"op": "log", "msg": "first got its response"}]}';
        proxy_wasm hostcalls '{"on_request_headers": [{"op": "log", "msg": "second"}, {"op": "add", "map": "request_headers", "key": "x-second", "value": "yes"}]}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/echo;
    }
    location = /fast {
        return 200 "fast";
    }
    location = /echo {
        return 200 "x-second: $http_x_second\n";
    }
--- request
GET /t
--- response_body
x-second: yes
--- grep_error_log eval: qr/hostcalls: \w+: (?:first|second)[^,]*/
--- grep_error_log_out
hostcalls: on_request_headers: first
hostcalls: on_http_call_response: first got its response
hostcalls: on_request_headers: second
--- no_error_log
[error]
[alert]
[crit]
