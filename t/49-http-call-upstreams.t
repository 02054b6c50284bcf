# HTTP calls through nginx's upstream machinery through the Lua API (resty.proxy-wasm): the same scenarios as
# t/directives/21-http-call-upstreams.t, with the plugins driven from access_by_lua: a cluster name resolved to an
# `upstream {}` group (balanced), keepalive reuse, https verified against the call location's trusted CA, and a
# call location declared in another server, and calls from a tick of a root context configured from Lua. Plugins: t/plugins/auth_call (the shape of the Rust SDK's
# http_auth_random) and t/plugins/hostcalls.
use Test::Nginx::Socket::Lua 'no_plan';

$ENV{TEST_NGINX_HTML_DIR} ||= html_dir();

log_level('info');
no_shuffle();
run_tests();

__DATA__

=== TEST 1: an Envoy-style plugin asks the cluster "httpbin" by name: an upstream {} of two servers, balanced round robin, each answers one byte; odd is 403, even lets the request in
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("auth_call", "t/plugins/auth_call.wasm"))
        package.loaded.ctx = assert(wasm.on_configure(plugin, [=[ ]=]))
    }
    upstream httpbin {
        server 127.0.0.1:$TEST_NGINX_SERVER_PORT;
        server 127.0.0.2:$TEST_NGINX_SERVER_PORT;
    }
    map $server_addr $gate_byte {
        127.0.0.2 B;
        default   A;
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
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/in;
    }
    location = /in {
        return 200 "in\n";
    }
    location = /bytes/1 {
        if ($http_host != "httpbin.org") {
            return 400;
        }
        return 200 $gate_byte;
    }
--- request eval
["GET /t", "GET /t", "GET /t", "GET /t"]
--- error_code eval
[403, 200, 403, 200]
--- response_body eval
["Access forbidden.\n", "in\n", "Access forbidden.\n", "in\n"]
--- no_error_log
[error]
[alert]
[crit]



=== TEST 2: successive calls to an upstream {} with keepalive reuse one upstream connection (the upstream sees the same connection number for each)
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("hostcalls", "t/plugins/hostcalls.wasm"))
        package.loaded.ctx = assert(wasm.on_configure(plugin, [=[{"on_request_headers": [{"op": "dispatch", "upstream": "ka", "headers": [[":method", "GET"], [":path", "/conn"], [":authority", "ka.test"]]}, {"op": "return", "action": "pause"}],
                               "on_http_call_response": [{"op": "get_body"},
                                   {"op": "dispatch", "if_call": 1, "upstream": "ka", "headers": [[":method", "GET"], [":path", "/conn"], [":authority", "ka.test"]]},
                                   {"op": "dispatch", "if_call": 2, "upstream": "ka", "headers": [[":method", "GET"], [":path", "/conn"], [":authority", "ka.test"]]},
                                   {"op": "continue", "if_call": 3}]}]=]))
    }
    upstream ka {
        server 127.0.0.1:$TEST_NGINX_SERVER_PORT;
        keepalive 4;
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
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/in;
    }
    location = /in {
        return 200 "in\n";
    }
    location = /conn {
        return 200 "$connection";
    }
--- request
GET /t
--- response_body
in
--- grep_error_log eval: qr/get_body http_call_response_body -> Ok "\d+"/
--- grep_error_log_out eval
qr/\Aget_body http_call_response_body -> Ok "(\d+)"\nget_body http_call_response_body -> Ok "\1"\nget_body http_call_response_body -> Ok "\1"\n\z/
--- no_error_log
[error]
[alert]
[crit]



=== TEST 3: without keepalive each call opens its own connection (the same calls as TEST 2 see three connection numbers)
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("hostcalls", "t/plugins/hostcalls.wasm"))
        package.loaded.ctx = assert(wasm.on_configure(plugin, [=[{"on_request_headers": [{"op": "dispatch", "upstream": "ka", "headers": [[":method", "GET"], [":path", "/conn"], [":authority", "ka.test"]]}, {"op": "return", "action": "pause"}],
                               "on_http_call_response": [{"op": "get_body"},
                                   {"op": "dispatch", "if_call": 1, "upstream": "ka", "headers": [[":method", "GET"], [":path", "/conn"], [":authority", "ka.test"]]},
                                   {"op": "dispatch", "if_call": 2, "upstream": "ka", "headers": [[":method", "GET"], [":path", "/conn"], [":authority", "ka.test"]]},
                                   {"op": "continue", "if_call": 3}]}]=]))
    }
    upstream ka {
        server 127.0.0.1:$TEST_NGINX_SERVER_PORT;
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
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/in;
    }
    location = /in {
        return 200 "in\n";
    }
    location = /conn {
        return 200 "$connection";
    }
--- request
GET /t
--- response_body
in
--- grep_error_log eval: qr/get_body http_call_response_body -> Ok "\d+"/
--- grep_error_log_out eval
qr/\Aget_body http_call_response_body -> Ok "(\d+)"\nget_body http_call_response_body -> Ok "(?!\1")(\d+)"\nget_body http_call_response_body -> Ok "(?!\1")(?!\2")\d+"\n\z/
--- no_error_log
[error]
[alert]
[crit]



=== TEST 4: https to an upstream {} verifies its certificate against the call location's trusted CA, with the call's :authority as the name (SNI and check)
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("hostcalls", "t/plugins/hostcalls.wasm"))
        package.loaded.ctx = assert(wasm.on_configure(plugin, [=[{"on_request_headers": [{"op": "dispatch", "upstream": "tls", "headers": [[":method", "GET"], [":path", "/s"], [":scheme", "https"], [":authority", "upstream.test"]]}, {"op": "return", "action": "pause"}],
                               "on_http_call_response": [{"op": "get_body"}, {"op": "relay"}]}]=]))
    }
    upstream tls {
        server unix:$TEST_NGINX_HTML_DIR/tls.sock;
    }
    server {
        listen unix:$TEST_NGINX_HTML_DIR/tls.sock ssl;
        server_name upstream.test;
        ssl_certificate ../../../t/cert/upstream.pem;
        ssl_certificate_key ../../../t/cert/upstream.key;
        location / {
            return 200 "secret over $ssl_protocol to $ssl_server_name";
        }
    }
--- config
    location /proxy-wasm-calls {
        internal;
        proxy_wasm_http_calls;
        proxy_pass $proxy_wasm_call_url;
        proxy_set_header Host $proxy_wasm_call_authority;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_ssl_verify on;
        proxy_ssl_trusted_certificate ../../../t/cert/ca.pem;
        proxy_ssl_server_name on;
        proxy_ssl_name $proxy_wasm_call_host;
    }
    location /t {
        access_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            assert(wasm.on_http_request_headers(package.loaded.ctx))
        }
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/in;
    }
    location = /in {
        return 200 "in\n";
    }
--- request
GET /t
--- error_code: 200
--- response_body_like: ^secret over TLSv1\.[23] to upstream\.test$
--- no_error_log
[error]
[alert]
[crit]



=== TEST 5: https with a certificate that does not name the call's :authority: the handshake is refused, the callback runs with zero headers, one [warn] after nginx's own [error]
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("hostcalls", "t/plugins/hostcalls.wasm"))
        package.loaded.ctx = assert(wasm.on_configure(plugin, [=[{"on_request_headers": [{"op": "dispatch", "upstream": "tls", "headers": [[":method", "GET"], [":path", "/s"], [":scheme", "https"], [":authority", "other.test"]]}, {"op": "return", "action": "pause"}],
                               "on_http_call_response": [{"op": "get_body"}, {"op": "relay"}]}]=]))
    }
    upstream tls {
        server unix:$TEST_NGINX_HTML_DIR/tls.sock;
    }
    server {
        listen unix:$TEST_NGINX_HTML_DIR/tls.sock ssl;
        server_name upstream.test;
        ssl_certificate ../../../t/cert/upstream.pem;
        ssl_certificate_key ../../../t/cert/upstream.key;
        location / {
            return 200 "secret over $ssl_protocol to $ssl_server_name";
        }
    }
--- config
    location /proxy-wasm-calls {
        internal;
        proxy_wasm_http_calls;
        proxy_pass $proxy_wasm_call_url;
        proxy_set_header Host $proxy_wasm_call_authority;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_ssl_verify on;
        proxy_ssl_trusted_certificate ../../../t/cert/ca.pem;
        proxy_ssl_server_name on;
        proxy_ssl_name $proxy_wasm_call_host;
    }
    location /t {
        access_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            assert(wasm.on_http_request_headers(package.loaded.ctx))
        }
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/in;
    }
    location = /in {
        return 200 "in\n";
    }
--- request
GET /t
--- error_code: 502
--- grep_error_log eval: qr/hostcalls: on_http_call_response token[^,]*/
--- grep_error_log_out
hostcalls: on_http_call_response token=1 num_headers=0 body_size=0 num_trailers=0 call=1
--- error_log eval
[qr/\[error\] .*upstream SSL certificate does not match "other\.test" while SSL handshaking to upstream/,
qr/\[warn\] .*wasm plugin "hostcalls": HTTP call 1 to tls failed: no response from the upstream \(nginx ended the call with 502: see its error line\)/]
--- no_error_log
[alert]
[crit]



=== TEST 6: a request in a server without a call location uses the first one declared (in another server)
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("hostcalls", "t/plugins/hostcalls.wasm"))
        package.loaded.ctx = assert(wasm.on_configure(plugin, [=[{"on_request_headers": [{"op": "dispatch", "upstream": "127.0.0.1:$TEST_NGINX_SERVER_PORT", "headers": [[":method", "GET"], [":path", "/up"], [":authority", "localhost"]]}, {"op": "return", "action": "pause"}],
                               "on_http_call_response": [{"op": "get_body"}, {"op": "relay"}]}]=]))
    }
    server {
        listen 127.0.0.2:$TEST_NGINX_SERVER_PORT;
        server_name calls.test;
        location /proxy-wasm-calls {
            internal;
            proxy_wasm_http_calls;
            proxy_pass $proxy_wasm_call_url;
            proxy_set_header Host $proxy_wasm_call_authority;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
    }
    }
--- config
    location /t {
        access_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            assert(wasm.on_http_request_headers(package.loaded.ctx))
        }
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/in;
    }
    location = /up {
        return 200 "up from $server_name\n";
    }
--- request
GET /t
--- response_body
up from localhost
--- no_error_log
[error]
[alert]
[crit]



=== TEST 7: a tick of a root context configured from Lua dispatches a call where no request exists: it runs through the call location on a request of its own; its answer reaches the root context, which calls again from it
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("hostcalls", "t/plugins/hostcalls.wasm"))
        package.loaded.ctx = assert(wasm.on_configure(plugin, [=[{"tick_period_ms": 100,
  "on_tick": [{"op": "dispatch", "if_call": 1, "upstream": "ticked", "headers": [[":method", "GET"], [":path", "/up"], [":authority", "tick.test"]]}],
  "on_root_http_call_response": [{"op": "get_body"},
    {"op": "dispatch", "if_call": 1, "upstream": "127.0.0.1:$TEST_NGINX_SERVER_PORT", "headers": [[":path", "/up?second"], [":authority", "again.test"]]}]}]=]))
    }
    upstream ticked {
        server 127.0.0.1:$TEST_NGINX_SERVER_PORT;
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
    location = /up {
        return 200 "up $http_host $request_method $args";
    }
    location = /t {
        return 200 "t\n";
    }
--- request
GET /t
--- response_body
t
--- wait: 0.5
--- grep_error_log eval: qr/hostcalls: (?:on_tick: dispatch|root on_http_call_response|on_root_http_call_response: (?:get_body|dispatch))[^,\n]*/
--- grep_error_log_out eval
qr/\Ahostcalls: on_tick: dispatch ticked -> Ok token=1
hostcalls: root on_http_call_response token=1 num_headers=\d+ body_size=17 num_trailers=0 call=1
hostcalls: on_root_http_call_response: get_body http_call_response_body -> Ok "up tick\.test GET "
hostcalls: on_root_http_call_response: dispatch 127\.0\.0\.1:\d+ -> Ok token=2
hostcalls: root on_http_call_response token=2 num_headers=\d+ body_size=24 num_trailers=0 call=2
hostcalls: on_root_http_call_response: get_body http_call_response_body -> Ok "up again\.test GET second"
\z/
--- no_error_log
[error]
[alert]
[crit]
