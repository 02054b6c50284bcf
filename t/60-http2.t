# Both entrances over HTTP/2 (h2c, prior knowledge): request headers with their pseudo-headers as plugins
# see and change them, a local response, response headers and a changed body, and response trailers (sent as an
# HTTP/2 trailer HEADERS frame). Runs on Debian's nginx 1.22 (built with http_v2) and on nginx 1.28 of
# `make test`. Plugin: t/plugins/hostcalls (config-driven).
use Test::Nginx::Socket::Lua 'no_plan';

log_level('info');
no_shuffle();
run_tests();

__DATA__

=== TEST 1: directives: request headers: the pseudo-headers, :path and headers changed, as the upstream gets them
--- http_config
    # HTTP/2 without TLS (prior knowledge) on the test port: a listen option applies to every server of the
    # address, so this enables it on nginx 1.22 and 1.28 alike (1.28 warns that the form is deprecated).
    server {
        listen $TEST_NGINX_SERVER_PORT http2;
        server_name h2c;
    }
    # The upstream, on a socket of its own (nginx 1.22 speaks only HTTP/2 on the test port now).
    server {
        listen unix:$TEST_NGINX_SERVER_ROOT/logs/upstream.sock;
        location /echo {
            content_by_lua_block {
                -- the request line and every header the upstream received but the proxy's Host and Connection
                ngx.say(ngx.var.request)
                for line in ngx.req.raw_header(true):gmatch("([^\r\n]*)\r\n") do
                    local l = line:lower()
                    if not line:match("^%u+ /") and not l:match("^host:") and not l:match("^connection:") and line ~= "" then
                        ngx.say(line)
                    end
                end
            }
        }
        location /resp {
            add_header X-Up up;
            add_header X-Gone gone;
            return 200 "body\n";
        }
    }
    wasm_plugin hostcalls ../../t/plugins/hostcalls.wasm;
--- config
    location /t {
        proxy_wasm hostcalls '{"on_request_headers":[{"op":"log_pairs","map":"request_headers"},{"op":"get","map":"request_headers","key":":scheme"},{"op":"get_property","path":["request","protocol"]},{"op":"replace","map":"request_headers","key":":path","value":"/echo/changed?a=1"},{"op":"add","map":"request_headers","key":"x-added","value":"1"},{"op":"remove","map":"request_headers","key":"x-gone"}]}';
        proxy_pass http://unix:$TEST_NGINX_SERVER_ROOT/logs/upstream.sock;
    }
--- http2
--- request
GET /t?x=1
--- more_headers
X-Client: c
X-Gone: g
--- response_body
GET /echo/changed?a=1 HTTP/1.0
x-client: c
x-added: 1
--- grep_error_log eval: qr/on_request_headers: (?:request_headers: |get request_headers |get_property )[^,]*/
--- grep_error_log_out
on_request_headers: request_headers: :method: GET
on_request_headers: request_headers: :path: /t?x=1
on_request_headers: request_headers: :scheme: http
on_request_headers: request_headers: :authority: localhost
on_request_headers: request_headers: x-client: c
on_request_headers: request_headers: x-gone: g
on_request_headers: request_headers: 6 pairs
on_request_headers: get request_headers ":scheme" -> Ok "http"
on_request_headers: get_property request.protocol -> Ok "HTTP/2.0"
--- no_error_log
[error]
[alert]
[crit]



=== TEST 2: directives: a local response from request headers: status, headers, body
--- http_config
    # HTTP/2 without TLS (prior knowledge) on the test port: a listen option applies to every server of the
    # address, so this enables it on nginx 1.22 and 1.28 alike (1.28 warns that the form is deprecated).
    server {
        listen $TEST_NGINX_SERVER_PORT http2;
        server_name h2c;
    }
    # The upstream, on a socket of its own (nginx 1.22 speaks only HTTP/2 on the test port now).
    server {
        listen unix:$TEST_NGINX_SERVER_ROOT/logs/upstream.sock;
        location /echo {
            content_by_lua_block {
                -- the request line and every header the upstream received but the proxy's Host and Connection
                ngx.say(ngx.var.request)
                for line in ngx.req.raw_header(true):gmatch("([^\r\n]*)\r\n") do
                    local l = line:lower()
                    if not line:match("^%u+ /") and not l:match("^host:") and not l:match("^connection:") and line ~= "" then
                        ngx.say(line)
                    end
                end
            }
        }
        location /resp {
            add_header X-Up up;
            add_header X-Gone gone;
            return 200 "body\n";
        }
    }
    wasm_plugin hostcalls ../../t/plugins/hostcalls.wasm;
--- config
    location /t {
        proxy_wasm hostcalls '{"on_request_headers":[{"op":"local_response","status":403,"body":"denied\\n","headers":[["x-h","v"],["x-rep","1"],["x-rep","2"]]}]}';
        proxy_pass http://unix:$TEST_NGINX_SERVER_ROOT/logs/upstream.sock;
    }
--- http2
--- request
GET /t
--- error_code: 403
--- response_headers
X-H: v
X-Rep: 1, 2
--- response_body
denied
--- no_error_log
[error]
[alert]
[crit]



=== TEST 3: directives: response headers added, replaced and removed, the body changed
--- http_config
    # HTTP/2 without TLS (prior knowledge) on the test port: a listen option applies to every server of the
    # address, so this enables it on nginx 1.22 and 1.28 alike (1.28 warns that the form is deprecated).
    server {
        listen $TEST_NGINX_SERVER_PORT http2;
        server_name h2c;
    }
    # The upstream, on a socket of its own (nginx 1.22 speaks only HTTP/2 on the test port now).
    server {
        listen unix:$TEST_NGINX_SERVER_ROOT/logs/upstream.sock;
        location /echo {
            content_by_lua_block {
                -- the request line and every header the upstream received but the proxy's Host and Connection
                ngx.say(ngx.var.request)
                for line in ngx.req.raw_header(true):gmatch("([^\r\n]*)\r\n") do
                    local l = line:lower()
                    if not line:match("^%u+ /") and not l:match("^host:") and not l:match("^connection:") and line ~= "" then
                        ngx.say(line)
                    end
                end
            }
        }
        location /resp {
            add_header X-Up up;
            add_header X-Gone gone;
            return 200 "body\n";
        }
    }
    wasm_plugin hostcalls ../../t/plugins/hostcalls.wasm;
--- config
    location /t {
        proxy_wasm hostcalls '{"on_response_headers":[{"op":"log_pairs","map":"response_headers"},{"op":"add","map":"response_headers","key":"x-added","value":"1"},{"op":"replace","map":"response_headers","key":"x-up","value":"replaced"},{"op":"remove","map":"response_headers","key":"x-gone"}],"on_response_body":[{"op":"set_body","mode":"append","value":"changed by the plugin\\n","if_eos":true}]}';
        proxy_pass http://unix:$TEST_NGINX_SERVER_ROOT/logs/upstream.sock:/resp;
    }
--- http2
--- request
GET /t
--- response_headers
X-Added: 1
X-Up: replaced
! X-Gone
! Content-Length
--- response_body
body
changed by the plugin
--- grep_error_log eval: qr/response_headers: (?::status|x-up|x-gone): [^, ]*/
--- grep_error_log_out
response_headers: :status: 200
response_headers: x-up: up
response_headers: x-gone: gone
--- no_error_log
[error]
[alert]
[crit]



=== TEST 4: directives: response trailers added in response headers and at the end of the body go out in HTTP/2 trailers
--- http_config
    # HTTP/2 without TLS (prior knowledge) on the test port: a listen option applies to every server of the
    # address, so this enables it on nginx 1.22 and 1.28 alike (1.28 warns that the form is deprecated).
    server {
        listen $TEST_NGINX_SERVER_PORT http2;
        server_name h2c;
    }
    # The upstream, on a socket of its own (nginx 1.22 speaks only HTTP/2 on the test port now).
    server {
        listen unix:$TEST_NGINX_SERVER_ROOT/logs/upstream.sock;
        location /echo {
            content_by_lua_block {
                -- the request line and every header the upstream received but the proxy's Host and Connection
                ngx.say(ngx.var.request)
                for line in ngx.req.raw_header(true):gmatch("([^\r\n]*)\r\n") do
                    local l = line:lower()
                    if not line:match("^%u+ /") and not l:match("^host:") and not l:match("^connection:") and line ~= "" then
                        ngx.say(line)
                    end
                end
            }
        }
        location /resp {
            add_header X-Up up;
            add_header X-Gone gone;
            return 200 "body\n";
        }
    }
    wasm_plugin hostcalls ../../t/plugins/hostcalls.wasm;
--- config
    location /t {
        proxy_wasm hostcalls '{"on_response_headers":[{"op":"add","map":"response_trailers","key":"x-checksum","value":"abc"}],"on_response_body":[{"op":"add","map":"response_trailers","key":"x-count","value":"2","if_eos":true}]}';
        proxy_pass http://unix:$TEST_NGINX_SERVER_ROOT/logs/upstream.sock:/resp;
    }
--- http2
--- request
GET /t
--- log_level: debug
--- response_body_like: ^body\n
--- error_log
http2 output trailer: "x-checksum: abc"
http2 output trailer: "x-count: 2"
--- no_error_log
[error]
[alert]
[crit]



=== TEST 5: Lua: request headers: the pseudo-headers, :path and headers changed, as the upstream gets them
--- http_config
    # HTTP/2 without TLS (prior knowledge) on the test port: a listen option applies to every server of the
    # address, so this enables it on nginx 1.22 and 1.28 alike (1.28 warns that the form is deprecated).
    server {
        listen $TEST_NGINX_SERVER_PORT http2;
        server_name h2c;
    }
    # The upstream, on a socket of its own (nginx 1.22 speaks only HTTP/2 on the test port now).
    server {
        listen unix:$TEST_NGINX_SERVER_ROOT/logs/upstream.sock;
        location /echo {
            content_by_lua_block {
                -- the request line and every header the upstream received but the proxy's Host and Connection
                ngx.say(ngx.var.request)
                for line in ngx.req.raw_header(true):gmatch("([^\r\n]*)\r\n") do
                    local l = line:lower()
                    if not line:match("^%u+ /") and not l:match("^host:") and not l:match("^connection:") and line ~= "" then
                        ngx.say(line)
                    end
                end
            }
        }
        location /resp {
            add_header X-Up up;
            add_header X-Gone gone;
            return 200 "body\n";
        }
    }
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("hostcalls", "t/plugins/hostcalls.wasm"))
        package.loaded.ctx = assert(wasm.on_configure(plugin, [=[{"on_request_headers":[{"op":"log_pairs","map":"request_headers"},{"op":"get","map":"request_headers","key":":scheme"},{"op":"get_property","path":["request","protocol"]},{"op":"replace","map":"request_headers","key":":path","value":"/echo/changed?a=1"},{"op":"add","map":"request_headers","key":"x-added","value":"1"},{"op":"remove","map":"request_headers","key":"x-gone"}]}]=]))
    }
--- config
    location /t {
        access_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            assert(wasm.on_http_request_headers(package.loaded.ctx))
        }
        proxy_pass http://unix:$TEST_NGINX_SERVER_ROOT/logs/upstream.sock;
    }
--- http2
--- request
GET /t?x=1
--- more_headers
X-Client: c
X-Gone: g
--- response_body
GET /echo/changed?a=1 HTTP/1.0
x-client: c
x-added: 1
--- grep_error_log eval: qr/on_request_headers: (?:request_headers: |get request_headers |get_property )[^,]*/
--- grep_error_log_out
on_request_headers: request_headers: :method: GET
on_request_headers: request_headers: :path: /t?x=1
on_request_headers: request_headers: :scheme: http
on_request_headers: request_headers: :authority: localhost
on_request_headers: request_headers: x-client: c
on_request_headers: request_headers: x-gone: g
on_request_headers: request_headers: 6 pairs
on_request_headers: get request_headers ":scheme" -> Ok "http"
on_request_headers: get_property request.protocol -> Ok "HTTP/2.0"
--- no_error_log
[error]
[alert]
[crit]



=== TEST 6: Lua: a local response from request headers: status, headers, body
--- http_config
    # HTTP/2 without TLS (prior knowledge) on the test port: a listen option applies to every server of the
    # address, so this enables it on nginx 1.22 and 1.28 alike (1.28 warns that the form is deprecated).
    server {
        listen $TEST_NGINX_SERVER_PORT http2;
        server_name h2c;
    }
    # The upstream, on a socket of its own (nginx 1.22 speaks only HTTP/2 on the test port now).
    server {
        listen unix:$TEST_NGINX_SERVER_ROOT/logs/upstream.sock;
        location /echo {
            content_by_lua_block {
                -- the request line and every header the upstream received but the proxy's Host and Connection
                ngx.say(ngx.var.request)
                for line in ngx.req.raw_header(true):gmatch("([^\r\n]*)\r\n") do
                    local l = line:lower()
                    if not line:match("^%u+ /") and not l:match("^host:") and not l:match("^connection:") and line ~= "" then
                        ngx.say(line)
                    end
                end
            }
        }
        location /resp {
            add_header X-Up up;
            add_header X-Gone gone;
            return 200 "body\n";
        }
    }
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("hostcalls", "t/plugins/hostcalls.wasm"))
        package.loaded.ctx = assert(wasm.on_configure(plugin, [=[{"on_request_headers":[{"op":"local_response","status":403,"body":"denied\n","headers":[["x-h","v"],["x-rep","1"],["x-rep","2"]]}]}]=]))
    }
--- config
    location /t {
        access_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            assert(wasm.on_http_request_headers(package.loaded.ctx))
        }
        proxy_pass http://unix:$TEST_NGINX_SERVER_ROOT/logs/upstream.sock;
    }
--- http2
--- request
GET /t
--- error_code: 403
--- response_headers
X-H: v
X-Rep: 1, 2
--- response_body
denied
--- no_error_log
[error]
[alert]
[crit]



=== TEST 7: Lua: response headers added, replaced and removed, the body changed
--- http_config
    # HTTP/2 without TLS (prior knowledge) on the test port: a listen option applies to every server of the
    # address, so this enables it on nginx 1.22 and 1.28 alike (1.28 warns that the form is deprecated).
    server {
        listen $TEST_NGINX_SERVER_PORT http2;
        server_name h2c;
    }
    # The upstream, on a socket of its own (nginx 1.22 speaks only HTTP/2 on the test port now).
    server {
        listen unix:$TEST_NGINX_SERVER_ROOT/logs/upstream.sock;
        location /echo {
            content_by_lua_block {
                -- the request line and every header the upstream received but the proxy's Host and Connection
                ngx.say(ngx.var.request)
                for line in ngx.req.raw_header(true):gmatch("([^\r\n]*)\r\n") do
                    local l = line:lower()
                    if not line:match("^%u+ /") and not l:match("^host:") and not l:match("^connection:") and line ~= "" then
                        ngx.say(line)
                    end
                end
            }
        }
        location /resp {
            add_header X-Up up;
            add_header X-Gone gone;
            return 200 "body\n";
        }
    }
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("hostcalls", "t/plugins/hostcalls.wasm"))
        package.loaded.ctx = assert(wasm.on_configure(plugin, [=[{"on_response_headers":[{"op":"log_pairs","map":"response_headers"},{"op":"add","map":"response_headers","key":"x-added","value":"1"},{"op":"replace","map":"response_headers","key":"x-up","value":"replaced"},{"op":"remove","map":"response_headers","key":"x-gone"}],"on_response_body":[{"op":"set_body","mode":"append","value":"changed by the plugin\n","if_eos":true}]}]=]))
    }
--- config
    location /t {
        header_filter_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            assert(wasm.on_http_response_headers(package.loaded.ctx))
            ngx.header.content_length = nil
        }
        body_filter_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            assert(wasm.on_http_response_body(package.loaded.ctx))
        }
        proxy_pass http://unix:$TEST_NGINX_SERVER_ROOT/logs/upstream.sock:/resp;
    }
--- http2
--- request
GET /t
--- response_headers
X-Added: 1
X-Up: replaced
! X-Gone
! Content-Length
--- response_body
body
changed by the plugin
--- grep_error_log eval: qr/response_headers: (?::status|x-up|x-gone): [^, ]*/
--- grep_error_log_out
response_headers: :status: 200
response_headers: x-up: up
response_headers: x-gone: gone
--- no_error_log
[error]
[alert]
[crit]



=== TEST 8: Lua: response trailers added in response headers and at the end of the body go out in HTTP/2 trailers
--- http_config
    # HTTP/2 without TLS (prior knowledge) on the test port: a listen option applies to every server of the
    # address, so this enables it on nginx 1.22 and 1.28 alike (1.28 warns that the form is deprecated).
    server {
        listen $TEST_NGINX_SERVER_PORT http2;
        server_name h2c;
    }
    # The upstream, on a socket of its own (nginx 1.22 speaks only HTTP/2 on the test port now).
    server {
        listen unix:$TEST_NGINX_SERVER_ROOT/logs/upstream.sock;
        location /echo {
            content_by_lua_block {
                -- the request line and every header the upstream received but the proxy's Host and Connection
                ngx.say(ngx.var.request)
                for line in ngx.req.raw_header(true):gmatch("([^\r\n]*)\r\n") do
                    local l = line:lower()
                    if not line:match("^%u+ /") and not l:match("^host:") and not l:match("^connection:") and line ~= "" then
                        ngx.say(line)
                    end
                end
            }
        }
        location /resp {
            add_header X-Up up;
            add_header X-Gone gone;
            return 200 "body\n";
        }
    }
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("hostcalls", "t/plugins/hostcalls.wasm"))
        package.loaded.ctx = assert(wasm.on_configure(plugin, [=[{"on_response_headers":[{"op":"add","map":"response_trailers","key":"x-checksum","value":"abc"}],"on_response_body":[{"op":"add","map":"response_trailers","key":"x-count","value":"2","if_eos":true}]}]=]))
    }
--- config
    location /t {
        header_filter_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            assert(wasm.on_http_response_headers(package.loaded.ctx))
            ngx.header.content_length = nil
        }
        body_filter_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            assert(wasm.on_http_response_body(package.loaded.ctx))
        }
        proxy_pass http://unix:$TEST_NGINX_SERVER_ROOT/logs/upstream.sock:/resp;
    }
--- http2
--- request
GET /t
--- log_level: debug
--- response_body_like: ^body\n
--- error_log
http2 output trailer: "x-checksum: abc"
http2 output trailer: "x-count: 2"
--- no_error_log
[error]
[alert]
[crit]



=== TEST 9: directives: a response paused in proxy_on_response_headers is held over HTTP/2 until a tick continues it
--- http_config
    server {
        listen $TEST_NGINX_SERVER_PORT http2;
        server_name h2c;
    }
    server {
        listen unix:$TEST_NGINX_SERVER_ROOT/logs/upstream.sock;
        location /resp {
            return 200 "body\n";
        }
    }
    wasm_plugin hostcalls ../../t/plugins/hostcalls.wasm;
--- config
    location /t {
        proxy_wasm hostcalls '{"tick_period_ms": 50, "on_response_headers": [{"op": "add", "map": "response_headers", "key": "x-held", "value": "yes"}, {"op": "postpone"}, {"op": "return", "action": "pause"}], "on_tick": [{"op": "resume_postponed", "stream": 1}]}';
        proxy_pass http://unix:$TEST_NGINX_SERVER_ROOT/logs/upstream.sock:/resp;
    }
--- http2
--- request
GET /t
--- response_headers
x-held: yes
--- response_body
body
--- grep_error_log eval: qr/hostcalls: \w+: (?:postpone|resume -> [^,\n]*)|hostcalls: on_response_body body_size=\d+ end_of_stream=\w+/
--- grep_error_log_out
hostcalls: on_response_headers: postpone
hostcalls: on_tick: resume -> Ok(()) Ok(())
hostcalls: on_response_body body_size=5 end_of_stream=true
--- no_error_log
[error]
[alert]
[crit]
