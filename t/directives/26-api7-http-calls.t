# api7/wasm-nginx-module's HTTP-call scenarios where the directive path works differently from Lua: many client
# requests calling at once through one location's plugin, a call and a local response from one callback, a call
# from the request body answered with a local response, three chained calls. t/63-api7-http-calls.t runs them
# (and the call-argument cases) through resty.proxy-wasm. Plugin: t/plugins/hostcalls.
use Test::Nginx::Socket 'no_plan';

log_level('info');
no_shuffle();
run_tests();

__DATA__

=== TEST 1: eight client requests at once (SSI includes proxied back to this server) through one location's plugin: all eight calls are dispatched before any is answered, each callback runs in its own request, each request goes on
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
    location = /fan.html {
        default_type text/html;
        ssi on;
    }
    location /fan {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/call;
    }
    location = /call {
        proxy_wasm hostcalls '{"on_request_headers": [{"op": "dispatch", "upstream": "127.0.0.1:$TEST_NGINX_SERVER_PORT", "headers": [[":path", "/slow"]], "timeout": 5000}],
                               "on_http_call_response": [{"op": "get_property", "path": ["arg_i"]}]}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/final;
    }
    # The header and body (about 250 bytes) at 200 bytes/s: the last bytes leave after a second.
    location = /slow {
        limit_rate 200;
        return 200 "ssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssss";
    }
    location = /final {
        return 200 "call $arg_i";
    }
--- user_files
>>> fan.html
<!--# include virtual="/fan?i=1" -->
<!--# include virtual="/fan?i=2" -->
<!--# include virtual="/fan?i=3" -->
<!--# include virtual="/fan?i=4" -->
<!--# include virtual="/fan?i=5" -->
<!--# include virtual="/fan?i=6" -->
<!--# include virtual="/fan?i=7" -->
<!--# include virtual="/fan?i=8" -->
--- request
GET /fan.html
--- response_body
call 1
call 2
call 3
call 4
call 5
call 6
call 7
call 8
--- timeout: 10
--- grep_error_log eval: qr/hostcalls: on_request_headers: dispatch [^,\n]*|get_property arg_i -> Ok "(\d+)"(?=[^\n]*request: "GET \/call\?i=\1 HTTP)/
--- grep_error_log_out eval
qr/\A(?:hostcalls: on_request_headers: dispatch 127\.0\.0\.1:\d+ -> Ok token=\d+\n){8}(?:get_property arg_i -> Ok "\d+"\n){8}\z/
--- error_log
get_property arg_i -> Ok "8"
--- no_error_log
[error]
[alert]
[crit]



=== TEST 2: a call and a local response from one request callback: the local response answers, the call is dropped unsent with one [warn] line; api7 performs the call and skips the response
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
        proxy_wasm hostcalls '{"on_request_headers": [{"op": "dispatch", "upstream": "127.0.0.1:1", "headers": [[":path", "/"]]},
                                                      {"op": "local_response", "status": 503, "body": "answered\\n"}],
                               "on_http_call_response": [{"op": "log", "msg": "NEVER_CALLED"}]}';
        proxy_pass http://127.0.0.1:1/;
    }
--- request
GET /t
--- error_code: 503
--- response_body
answered
--- grep_error_log eval: qr/hostcalls: on_request_headers: (?:dispatch|local_response) [^,\n]*|wasm plugin "hostcalls": \d HTTP call\(s\) dropped[^,\n]*/
--- grep_error_log_out
hostcalls: on_request_headers: dispatch 127.0.0.1:1 -> Ok token=1
hostcalls: on_request_headers: local_response 503 -> Ok
wasm plugin "hostcalls": 1 HTTP call(s) dropped: the plugin answered with a local response
--- error_log eval
qr/\[warn\] .*wasm plugin "hostcalls": 1 HTTP call\(s\) dropped: the plugin answered with a local response/
--- no_error_log
[error]
NEVER_CALLED
connect() failed
[alert]
[crit]



=== TEST 3: a chained call and a local response from one call callback: the local response answers, the chained call is dropped unsent with one [warn] line
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
        proxy_wasm hostcalls '{"on_request_headers": [{"op": "dispatch", "upstream": "127.0.0.1:$TEST_NGINX_SERVER_PORT", "headers": [[":path", "/fast"]]}],
                               "on_http_call_response": [{"op": "get_body"},
                                                         {"op": "dispatch", "if_call": 1, "upstream": "127.0.0.1:1", "headers": [[":path", "/"]]},
                                                         {"op": "local_response", "if_call": 1, "status": 403, "body": "from the callback\\n"},
                                                         {"op": "log", "if_call": 2, "msg": "NEVER_CALLED"}]}';
        proxy_pass http://127.0.0.1:1/;
    }
    location = /fast {
        return 200 "fast";
    }
--- request
GET /t
--- error_code: 403
--- response_body
from the callback
--- grep_error_log eval: qr/hostcalls: on_http_call_response(?: token|: get_body|: dispatch|: local_response)[^,\n]*|wasm plugin "hostcalls": \d HTTP call\(s\) dropped[^,\n]*/
--- grep_error_log_out
hostcalls: on_http_call_response token=1 num_headers=6 body_size=4 num_trailers=0 call=1
hostcalls: on_http_call_response: get_body http_call_response_body -> Ok "fast"
hostcalls: on_http_call_response: dispatch 127.0.0.1:1 -> Ok token=2
hostcalls: on_http_call_response: local_response 403 -> Ok
wasm plugin "hostcalls": 1 HTTP call(s) dropped: the plugin answered with a local response
--- error_log eval
qr/\[warn\] .*wasm plugin "hostcalls": 1 HTTP call\(s\) dropped: the plugin answered with a local response/
--- no_error_log
[error]
NEVER_CALLED
connect() failed
[alert]
[crit]



=== TEST 4: a call dispatched from the request body callback; its callback answers 503 with nginx's page, the request is not proxied
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
        proxy_wasm hostcalls '{"on_request_body": [{"op": "get_body", "if_eos": true}, {"op": "dispatch", "if_eos": true, "upstream": "127.0.0.1:$TEST_NGINX_SERVER_PORT", "headers": [[":path", "/echo?body=helloworld"]]}],
                               "on_http_call_response": [{"op": "get_body"}, {"op": "local_response", "status": 503}]}';
        proxy_pass http://127.0.0.1:1/;
    }
    location = /echo {
        return 200 $arg_body;
    }
--- request
POST /t
payload
--- error_code: 503
--- response_body_like: 503 Service Temporarily Unavailable
--- grep_error_log eval: qr/hostcalls: on_request_body: (?:get_body|dispatch) [^,\n]*|hostcalls: on_http_call_response[^,\n]*/
--- grep_error_log_out eval
"hostcalls: on_request_body: get_body request_body -> Ok \"payload\"
hostcalls: on_request_body: dispatch 127.0.0.1:$ENV{TEST_NGINX_SERVER_PORT} -> Ok token=1
hostcalls: on_http_call_response token=1 num_headers=6 body_size=10 num_trailers=0 call=1
hostcalls: on_http_call_response: get_body http_call_response_body -> Ok \"helloworld\"
hostcalls: on_http_call_response: local_response 503 -> Ok
"
--- no_error_log
connect() failed
[error]
[alert]
[crit]



=== TEST 5: three chained calls, each dispatched from the previous one's callback, then a local response 401 from the third callback; the request is not proxied
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
        proxy_wasm hostcalls '{"on_request_headers": [{"op": "dispatch", "upstream": "127.0.0.1:$TEST_NGINX_SERVER_PORT", "headers": [[":path", "/up?n=1"]]}],
                               "on_http_call_response": [{"op": "get_body"},
                                                         {"op": "dispatch", "if_call": 1, "upstream": "127.0.0.1:$TEST_NGINX_SERVER_PORT", "headers": [[":path", "/up?n=2"]]},
                                                         {"op": "dispatch", "if_call": 2, "upstream": "127.0.0.1:$TEST_NGINX_SERVER_PORT", "headers": [[":path", "/up?n=3"]]},
                                                         {"op": "local_response", "if_call": 3, "status": 401, "body": "after three calls\\n", "headers": [["x-calls", "3"]]}]}';
        proxy_pass http://127.0.0.1:1/;
    }
    location = /up {
        return 200 "up $arg_n";
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
connect() failed
[error]
[alert]
[crit]
