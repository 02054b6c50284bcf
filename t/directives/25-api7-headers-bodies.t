# The parts of api7/wasm-nginx-module's log.t, http_resp_header.t, http_req_body.t and http_resp_body.t where
# the directive path works differently from Lua (t/62-api7-headers-bodies.t): phases nginx runs itself, its own
# error pages, bodies nginx reads or receives in pieces. Plugin: t/plugins/hostcalls.
use Test::Nginx::Socket 'no_plan';

log_level('info');
no_shuffle();
run_tests();

__DATA__

=== TEST 1: every SDK log level from a request callback: trace and debug to [debug], critical to [crit] (api7: [emerg]); each line has the request's context but the [debug] ones (nginx adds none to debug lines)
--- http_config
    wasm_plugin hostcalls ../../t/plugins/hostcalls.wasm;
--- config
    location /t {
        proxy_wasm hostcalls '{"on_request_headers": [{"op": "log", "level": "critical", "msg": "ouch, critical"},
                                                      {"op": "log", "level": "error", "msg": "ouch, error"},
                                                      {"op": "log", "level": "warn", "msg": "ouch, warn"},
                                                      {"op": "log", "level": "info", "msg": "ouch, info"},
                                                      {"op": "log", "level": "debug", "msg": "ouch, debug"},
                                                      {"op": "log", "level": "trace", "msg": "ouch, trace"}]}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location /up {
        return 200 "ok\n";
    }
--- request
GET /t
--- log_level: debug
--- response_body
ok
--- error_log eval
[
qr/\[crit\] \d+#\d+: \*\d+ wasm plugin "hostcalls": hostcalls: on_request_headers: ouch, critical, client: 127\.0\.0\.1, server: localhost, request: "GET \/t HTTP\/1\.1", host: "localhost"$/,
qr/\[error\] \d+#\d+: \*\d+ wasm plugin "hostcalls": hostcalls: on_request_headers: ouch, error, client: 127\.0\.0\.1, server: localhost, request: "GET \/t HTTP\/1\.1", host: "localhost"$/,
qr/\[warn\] \d+#\d+: \*\d+ wasm plugin "hostcalls": hostcalls: on_request_headers: ouch, warn, client: 127\.0\.0\.1, server: localhost, request: "GET \/t HTTP\/1\.1", host: "localhost"$/,
qr/\[info\] \d+#\d+: \*\d+ wasm plugin "hostcalls": hostcalls: on_request_headers: ouch, info, client: 127\.0\.0\.1, server: localhost, request: "GET \/t HTTP\/1\.1", host: "localhost"$/,
qr/\[debug\] \d+#\d+: \*\d+ wasm plugin "hostcalls": hostcalls: on_request_headers: ouch, debug$/,
qr/\[debug\] \d+#\d+: \*\d+ wasm plugin "hostcalls": hostcalls: on_request_headers: ouch, trace$/,
]
--- no_error_log
[alert]
[emerg]



=== TEST 2: a line from each phase nginx runs the plugin in carries the request's context and what nginx was doing (upstream header, sending, logging)
--- http_config
    wasm_plugin hostcalls ../../t/plugins/hostcalls.wasm;
--- config
    location /t {
        proxy_wasm hostcalls '{"on_request_headers": [{"op": "log", "level": "warn", "msg": "in access"}],
                               "on_request_body": [{"op": "log", "level": "warn", "msg": "in request body"}],
                               "on_response_headers": [{"op": "log", "level": "warn", "msg": "in header filter"}],
                               "on_response_body": [{"op": "log", "level": "warn", "msg": "in body filter", "if_eos": true}],
                               "on_log": [{"op": "log", "level": "warn", "msg": "in log"}]}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location /up {
        return 200 "ok\n";
    }
--- request
POST /t
hello
--- response_body
ok
--- grep_error_log eval: qr/hostcalls: on_\w+: in [^,\n]*/
--- grep_error_log_out
hostcalls: on_request_headers: in access
hostcalls: on_request_body: in request body
hostcalls: on_response_headers: in header filter while reading response header from upstream
hostcalls: on_response_body: in body filter while sending to client
hostcalls: on_log: in log while logging request
--- error_log eval
[
qr/\[warn\] .*hostcalls: on_request_headers: in access, client: 127\.0\.0\.1, server: localhost, request: "POST \/t HTTP\/1\.1", host: "localhost"$/,
qr/\[warn\] .*hostcalls: on_request_body: in request body, client: 127\.0\.0\.1, server: localhost, request: "POST \/t HTTP\/1\.1", host: "localhost"$/,
qr/\[warn\] .*hostcalls: on_response_headers: in header filter while reading response header from upstream, client: 127\.0\.0\.1, server: localhost, request: "POST \/t HTTP\/1\.1", upstream: "http:\/\/127\.0\.0\.1:\d+\/up", host: "localhost"$/,
qr/\[warn\] .*hostcalls: on_log: in log while logging request, client: 127\.0\.0\.1, server: localhost, request: "POST \/t HTTP\/1\.1", upstream: "http:\/\/127\.0\.0\.1:\d+\/up", host: "localhost"$/,
]
--- no_error_log
[error]
[alert]
[crit]



=== TEST 3: a rewrite-phase return 404: the request callbacks never run, the response callbacks and on_log do, for nginx's own 404 page (:status 404, the plugin's header reaches the client)
--- http_config
    wasm_plugin hostcalls ../../t/plugins/hostcalls.wasm;
--- config
    location /t {
        proxy_wasm hostcalls '{"on_request_headers": [{"op": "log", "msg": "request headers ran"}],
                               "on_response_headers": [{"op": "get", "map": "response_headers", "key": ":status"},
                                                       {"op": "get", "map": "response_headers", "key": "content-type"},
                                                       {"op": "add", "map": "response_headers", "key": "x-wasm", "value": "seen"}],
                               "on_response_body": [{"op": "set_body", "mode": "append", "value": "<!-- wasm -->", "if_eos": true}],
                               "on_log": [{"op": "get_property", "path": ["response", "code"]}]}';
        server_tokens off;
        return 404;
    }
--- request
GET /t
--- error_code: 404
--- response_headers
X-Wasm: seen
! Content-Length
--- response_body_like: 404 Not Found.*</html>\r?\n<!-- wasm -->$
--- grep_error_log eval: qr/hostcalls: on_(?:request|response|log)[^,\n]*/
--- grep_error_log_out
hostcalls: on_response_headers num_headers=3 end_of_stream=false
hostcalls: on_response_headers: get response_headers ":status" -> Ok "404"
hostcalls: on_response_headers: get response_headers "content-type" -> Ok "text/html"
hostcalls: on_response_headers: add response_headers "x-wasm" "seen" -> Ok
hostcalls: on_response_body body_size=146 end_of_stream=true
hostcalls: on_response_body: set_body response_body 146:0 "<!-- wasm -->" -> Ok
hostcalls: on_log while logging request
hostcalls: on_log: get_property response.code -> Ok "404" while logging request
--- no_error_log
[error]
[alert]
[crit]



=== TEST 4: nginx's own 502 page after the upstream refused the connection: request headers ran, then the response callback reads :status 502 of the page
--- http_config
    wasm_plugin hostcalls ../../t/plugins/hostcalls.wasm;
--- config
    location /t {
        proxy_wasm hostcalls '{"on_request_headers": [{"op": "log", "msg": "request headers ran"}],
                               "on_response_headers": [{"op": "get", "map": "response_headers", "key": ":status"},
                                                       {"op": "add", "map": "response_headers", "key": "x-wasm", "value": "seen"}]}';
        proxy_pass http://127.0.0.1:1/;
    }
--- request
GET /t
--- error_code: 502
--- response_headers
X-Wasm: seen
--- response_body_like: 502 Bad Gateway
--- grep_error_log eval: qr/hostcalls: on_(?:request|response)_headers:[^,\n]*/
--- grep_error_log_out
hostcalls: on_request_headers: request headers ran
hostcalls: on_response_headers: get response_headers ":status" -> Ok "502" while sending to client
hostcalls: on_response_headers: add response_headers "x-wasm" "seen" -> Ok while sending to client
--- error_log
connect() failed (111: Connection refused) while connecting to upstream
--- no_error_log
[alert]
[crit]



=== TEST 5: response header edge cases, as the next hop gets them: replaced with an empty value (sent empty), a repeated header removed (every value), an absent one removed, the empty name (get NotFound, changes Ok and no-ops)
--- http_config
    wasm_plugin front ../../t/plugins/hostcalls.wasm;
    wasm_plugin back ../../t/plugins/hostcalls.wasm;
--- config
    location /t {
        proxy_wasm front '{"on_response_headers": [{"op": "log_pairs", "map": "response_headers"}]}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location /up {
        proxy_wasm back '{"on_response_headers": [{"op": "add", "map": "response_headers", "key": "add", "value": "foo"},
                                                  {"op": "replace", "map": "response_headers", "key": "add", "value": ""},
                                                  {"op": "get", "map": "response_headers", "key": "add"},
                                                  {"op": "add", "map": "response_headers", "key": "x-rep", "value": "3"},
                                                  {"op": "remove", "map": "response_headers", "key": "X-Rep"},
                                                  {"op": "remove", "map": "response_headers", "key": "aa"},
                                                  {"op": "get", "map": "response_headers", "key": ""},
                                                  {"op": "add", "map": "response_headers", "key": "", "value": "x"},
                                                  {"op": "replace", "map": "response_headers", "key": "", "value": ""},
                                                  {"op": "remove", "map": "response_headers", "key": ""}]}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/origin;
    }
    location /origin {
        add_header X-Rep 1;
        add_header X-Rep 2;
        add_header X-Keep k;
        return 200 "ok\n";
    }
--- request
GET /t
--- response_headers
! X-Rep
X-Keep: k
--- response_body
ok
--- grep_error_log eval: qr/wasm plugin "\w+": hostcalls: on_response_headers: [^,\n]*[^,\n ]/
--- grep_error_log_out
wasm plugin "back": hostcalls: on_response_headers: add response_headers "add" "foo" -> Ok while reading response header from upstream
wasm plugin "back": hostcalls: on_response_headers: replace response_headers "add" "" -> Ok while reading response header from upstream
wasm plugin "back": hostcalls: on_response_headers: get response_headers "add" -> Ok "" while reading response header from upstream
wasm plugin "back": hostcalls: on_response_headers: add response_headers "x-rep" "3" -> Ok while reading response header from upstream
wasm plugin "back": hostcalls: on_response_headers: remove response_headers "X-Rep" -> Ok while reading response header from upstream
wasm plugin "back": hostcalls: on_response_headers: remove response_headers "aa" -> Ok while reading response header from upstream
wasm plugin "back": hostcalls: on_response_headers: get response_headers "" -> NotFound while reading response header from upstream
wasm plugin "back": hostcalls: on_response_headers: add response_headers "" "x" -> Ok while reading response header from upstream
wasm plugin "back": hostcalls: on_response_headers: replace response_headers "" "" -> Ok while reading response header from upstream
wasm plugin "back": hostcalls: on_response_headers: remove response_headers "" -> Ok while reading response header from upstream
wasm plugin "front": hostcalls: on_response_headers: response_headers: :status: 200 while reading response header from upstream
wasm plugin "front": hostcalls: on_response_headers: response_headers: content-type: text/plain while reading response header from upstream
wasm plugin "front": hostcalls: on_response_headers: response_headers: x-keep: k while reading response header from upstream
wasm plugin "front": hostcalls: on_response_headers: response_headers: add:  while reading response header from upstream
wasm plugin "front": hostcalls: on_response_headers: response_headers: 4 pairs while reading response header from upstream
--- no_error_log
[error]
[alert]
[crit]



=== TEST 6: a proxied body nginx receives in several reads (proxy_buffering off, 1k buffer): each read of at most 1k is a call, end_of_stream only on a last empty call, the plugin's end reaches the client
--- http_config
    wasm_plugin hostcalls ../../t/plugins/hostcalls.wasm;
--- config
    location /t {
        proxy_wasm hostcalls '{"on_response_body": [{"op": "set_body", "mode": "append", "value": "<end>", "if_eos": true}]}';
        proxy_buffering off;
        proxy_buffer_size 1k;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/big.txt;
    }
--- user_files eval
">>> big.txt\n" . ("0123456789" x 400)
--- request
GET /t
--- response_headers
! Content-Length
--- response_body eval
("0123456789" x 400) . "<end>"
--- grep_error_log eval: qr/hostcalls: on_response_body[^,\n]*/
--- grep_error_log_out eval
qr/\A(?:hostcalls: on_response_body body_size=(?:[1-9]\d{0,2}|10[01]\d|102[0-4]) end_of_stream=false while sending to client\n){4,}hostcalls: on_response_body body_size=0 end_of_stream=true while sending to client\nhostcalls: on_response_body: set_body response_body 0:0 "<end>" -> Ok while sending to client\n\z/
--- no_error_log
[error]
[alert]
[crit]



=== TEST 7: a request body nginx buffered to a temporary file is handed over in one call with end_of_stream; slices and api7's bad slices answer as on the Lua path; the changed body reaches the upstream
--- http_config
    wasm_plugin front ../../t/plugins/hostcalls.wasm;
    wasm_plugin back ../../t/plugins/hostcalls.wasm;
--- config
    location /t {
        client_body_buffer_size 1k;
        proxy_wasm front '{"on_request_body": [{"op": "buffer_status"},
                                               {"op": "get_body", "start": 1, "max": 2},
                                               {"op": "get_body", "start": 3995, "max": 10},
                                               {"op": "get_body", "start": 4294967295, "max": 2},
                                               {"op": "get_body", "start": 1, "max": 0},
                                               {"op": "get_body", "start": 4000, "max": 2},
                                               {"op": "set_body", "mode": "append", "value": "!"}]}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location /up {
        proxy_wasm back '{"on_request_body": [{"op": "buffer_status"}, {"op": "get_body", "start": 3995, "max": 10}]}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/origin;
    }
    location /origin {
        return 200 "ok\n";
    }
--- request eval
"POST /t\n" . ("0123456789" x 400)
--- response_body
ok
--- grep_error_log eval: qr/wasm plugin "\w+": hostcalls: on_request_body[^,\n]*/
--- grep_error_log_out
wasm plugin "front": hostcalls: on_request_body body_size=4000 end_of_stream=true
wasm plugin "front": hostcalls: on_request_body: buffer_status request_body -> Ok length=4000 flags=1
wasm plugin "front": hostcalls: on_request_body: get_body request_body -> Ok "12"
wasm plugin "front": hostcalls: on_request_body: get_body request_body -> Ok "56789"
wasm plugin "front": hostcalls: on_request_body: get_body request_body -> BadArgument
wasm plugin "front": hostcalls: on_request_body: get_body request_body -> Ok ""
wasm plugin "front": hostcalls: on_request_body: get_body request_body -> Ok ""
wasm plugin "front": hostcalls: on_request_body: set_body request_body 4000:0 "!" -> Ok
wasm plugin "back": hostcalls: on_request_body body_size=4001 end_of_stream=true
wasm plugin "back": hostcalls: on_request_body: buffer_status request_body -> Ok length=4001 flags=1
wasm plugin "back": hostcalls: on_request_body: get_body request_body -> Ok "56789!"
--- error_log
a client request body is buffered to a temporary file
--- no_error_log
[error]
[alert]
[crit]
