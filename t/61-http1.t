# Both entrances over HTTP/1.0 (a changed response is delimited by the connection's end; a local response) and
# over one HTTP/1.1 keep-alive connection (a local response that leaves the request body unread, then further
# requests, each with its own plugin context, on the same connection). Plugin: t/plugins/hostcalls.
use Test::Nginx::Socket::Lua 'no_plan';

log_level('info');
no_shuffle();
run_tests();

__DATA__

=== TEST 1: directives: HTTP/1.0: the response a plugin changes ends with the connection (no length, no chunks)
--- http_config
    wasm_plugin hostcalls ../../t/plugins/hostcalls.wasm;
--- config
    location /t {
        proxy_wasm hostcalls '{"on_request_headers":[{"op":"get_property","path":["request","protocol"]}],"on_response_headers":[{"op":"add","map":"response_headers","key":"x-added","value":"1"}],"on_response_body":[{"op":"set_body","mode":"append","value":"changed by the plugin\\n","if_eos":true}]}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/resp;
    }
    location /resp {
        add_header X-Up up;
        return 200 "body\n";
    }
--- request
GET /t HTTP/1.0
--- response_headers
X-Added: 1
X-Up: up
! Content-Length
! Transfer-Encoding
--- response_body
body
changed by the plugin
--- error_log
get_property request.protocol -> Ok "HTTP/1.0"
--- no_error_log
[error]
[alert]
[crit]



=== TEST 2: directives: HTTP/1.0: a local response
--- http_config
    wasm_plugin hostcalls ../../t/plugins/hostcalls.wasm;
--- config
    location /t {
        proxy_wasm hostcalls '{"on_request_headers":[{"op":"local_response","status":403,"body":"denied\\n","headers":[["x-h","v"]]}]}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/resp;
    }
    location /resp {
        add_header X-Up up;
        return 200 "body\n";
    }
--- request
GET /t HTTP/1.0
--- error_code: 403
--- response_headers
X-H: v
--- response_body
denied
--- no_error_log
[error]
[alert]
[crit]



=== TEST 3: directives: keep-alive on HTTP/1.1: a local response with the request body unread, then two changed responses on the same connection
--- http_config
    wasm_plugin hostcalls ../../t/plugins/hostcalls.wasm;
--- config
    location /deny {
        proxy_wasm hostcalls '{"on_request_headers":[{"op":"local_response","status":403,"body":"denied\\n","headers":[["x-h","v"]]}]}';
        add_header X-Req $connection_requests always;
        add_header X-Conn $connection always;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/resp;
    }
    location /inner {
        proxy_wasm hostcalls '{"on_request_headers":[{"op":"get_property","path":["request","protocol"]}],"on_response_headers":[{"op":"add","map":"response_headers","key":"x-added","value":"1"}],"on_response_body":[{"op":"set_body","mode":"append","value":"changed by the plugin\\n","if_eos":true}]}';
        add_header X-Req $connection_requests always;
        add_header X-Conn $connection always;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/resp;
    }
    location /resp {
        add_header X-Up up;
        return 200 "body\n";
    }
    location /t {
        content_by_lua_block {
            -- one HTTP/1.1 connection, three requests: a POST the plugin answers itself (its body unread), then
            -- twice a response the plugin changes
            local function read_response(sock)
                local status = assert(sock:receive("*l"))
                local headers = {}
                while true do
                    local line = assert(sock:receive("*l"))
                    if line == "" then break end
                    local k, v = line:match("^([^:]+):%s*(.*)$")
                    headers[k:lower()] = v
                end
                local body = ""
                if headers["content-length"] then
                    body = assert(sock:receive(tonumber(headers["content-length"])))
                elseif headers["transfer-encoding"] == "chunked" then
                    local parts = {}
                    while true do
                        local size = tonumber(assert(sock:receive("*l")), 16)
                        if size == 0 then
                            repeat local l = assert(sock:receive("*l")) until l == ""
                            break
                        end
                        parts[#parts + 1] = assert(sock:receive(size))
                        assert(sock:receive("*l"))
                    end
                    body = table.concat(parts)
                end
                return status, headers, body
            end
            local sock = ngx.socket.tcp()
            sock:settimeout(2000)
            assert(sock:connect("127.0.0.1", ngx.var.server_port))
            local requests = {
                "POST /deny HTTP/1.1\r\nHost: localhost\r\nContent-Length: 9\r\n\r\nunread!!!",
                "GET /inner HTTP/1.1\r\nHost: localhost\r\n\r\n",
                "GET /inner HTTP/1.1\r\nHost: localhost\r\n\r\n",
            }
            local conns = {}
            for _, req in ipairs(requests) do
                assert(sock:send(req))
                local status, h, body = read_response(sock)
                conns[h["x-conn"]] = true
                ngx.say(status, " | request ", h["x-req"], " on this connection, x-added: ", h["x-added"] or "-",
                        ", connection: ", h["connection"] or "-", " | ", (body:gsub("\n", "|")))
            end
            local n = 0
            for _ in pairs(conns) do n = n + 1 end
            ngx.say("connections: ", n)
            sock:close()
        }
    }
--- request
GET /t
--- response_body
HTTP/1.1 403 Forbidden | request 1 on this connection, x-added: -, connection: keep-alive | denied|
HTTP/1.1 200 OK | request 2 on this connection, x-added: 1, connection: keep-alive | body|changed by the plugin|
HTTP/1.1 200 OK | request 3 on this connection, x-added: 1, connection: keep-alive | body|changed by the plugin|
connections: 1
--- grep_error_log eval: qr/hostcalls: on_(?:request_headers|response_headers) num_headers=\d+/
--- grep_error_log_out
hostcalls: on_request_headers num_headers=5
hostcalls: on_response_headers num_headers=4
hostcalls: on_request_headers num_headers=4
hostcalls: on_response_headers num_headers=4
hostcalls: on_request_headers num_headers=4
hostcalls: on_response_headers num_headers=4
--- no_error_log
[error]
[alert]
[crit]



=== TEST 4: Lua: HTTP/1.0: the response a plugin changes ends with the connection (no length, no chunks)
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("hostcalls", "t/plugins/hostcalls.wasm"))
        package.loaded.changed = assert(wasm.on_configure(plugin, [=[{"on_request_headers":[{"op":"get_property","path":["request","protocol"]}],"on_response_headers":[{"op":"add","map":"response_headers","key":"x-added","value":"1"}],"on_response_body":[{"op":"set_body","mode":"append","value":"changed by the plugin\n","if_eos":true}]}]=]))
    }
--- config
    location /t {
        access_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            assert(wasm.on_http_request_headers(package.loaded.changed))
        }
        header_filter_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            assert(wasm.on_http_response_headers(package.loaded.changed))
            ngx.header.content_length = nil
        }
        body_filter_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            assert(wasm.on_http_response_body(package.loaded.changed))
        }
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/resp;
    }
    location /resp {
        add_header X-Up up;
        return 200 "body\n";
    }
--- request
GET /t HTTP/1.0
--- response_headers
X-Added: 1
X-Up: up
! Content-Length
! Transfer-Encoding
--- response_body
body
changed by the plugin
--- error_log
get_property request.protocol -> Ok "HTTP/1.0"
--- no_error_log
[error]
[alert]
[crit]



=== TEST 5: Lua: HTTP/1.0: a local response
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("hostcalls", "t/plugins/hostcalls.wasm"))
        package.loaded.deny = assert(wasm.on_configure(plugin, [=[{"on_request_headers":[{"op":"local_response","status":403,"body":"denied\n","headers":[["x-h","v"]]}]}]=]))
    }
--- config
    location /t {
        access_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            assert(wasm.on_http_request_headers(package.loaded.deny))
        }
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/resp;
    }
    location /resp {
        add_header X-Up up;
        return 200 "body\n";
    }
--- request
GET /t HTTP/1.0
--- error_code: 403
--- response_headers
X-H: v
--- response_body
denied
--- no_error_log
[error]
[alert]
[crit]



=== TEST 6: Lua: keep-alive on HTTP/1.1: a local response with the request body unread, then two changed responses on the same connection
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("hostcalls", "t/plugins/hostcalls.wasm"))
        package.loaded.deny = assert(wasm.on_configure(plugin, [=[{"on_request_headers":[{"op":"local_response","status":403,"body":"denied\n","headers":[["x-h","v"]]}]}]=]))
        package.loaded.changed = assert(wasm.on_configure(plugin, [=[{"on_request_headers":[{"op":"get_property","path":["request","protocol"]}],"on_response_headers":[{"op":"add","map":"response_headers","key":"x-added","value":"1"}],"on_response_body":[{"op":"set_body","mode":"append","value":"changed by the plugin\n","if_eos":true}]}]=]))
    }
--- config
    location /deny {
        access_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            assert(wasm.on_http_request_headers(package.loaded.deny))
        }
        add_header X-Req $connection_requests always;
        add_header X-Conn $connection always;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/resp;
    }
    location /inner {
        access_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            assert(wasm.on_http_request_headers(package.loaded.changed))
        }
        header_filter_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            assert(wasm.on_http_response_headers(package.loaded.changed))
            ngx.header.content_length = nil
        }
        body_filter_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            assert(wasm.on_http_response_body(package.loaded.changed))
        }
        add_header X-Req $connection_requests always;
        add_header X-Conn $connection always;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/resp;
    }
    location /resp {
        add_header X-Up up;
        return 200 "body\n";
    }
    location /t {
        content_by_lua_block {
            -- one HTTP/1.1 connection, three requests: a POST the plugin answers itself (its body unread), then
            -- twice a response the plugin changes
            local function read_response(sock)
                local status = assert(sock:receive("*l"))
                local headers = {}
                while true do
                    local line = assert(sock:receive("*l"))
                    if line == "" then break end
                    local k, v = line:match("^([^:]+):%s*(.*)$")
                    headers[k:lower()] = v
                end
                local body = ""
                if headers["content-length"] then
                    body = assert(sock:receive(tonumber(headers["content-length"])))
                elseif headers["transfer-encoding"] == "chunked" then
                    local parts = {}
                    while true do
                        local size = tonumber(assert(sock:receive("*l")), 16)
                        if size == 0 then
                            repeat local l = assert(sock:receive("*l")) until l == ""
                            break
                        end
                        parts[#parts + 1] = assert(sock:receive(size))
                        assert(sock:receive("*l"))
                    end
                    body = table.concat(parts)
                end
                return status, headers, body
            end
            local sock = ngx.socket.tcp()
            sock:settimeout(2000)
            assert(sock:connect("127.0.0.1", ngx.var.server_port))
            local requests = {
                "POST /deny HTTP/1.1\r\nHost: localhost\r\nContent-Length: 9\r\n\r\nunread!!!",
                "GET /inner HTTP/1.1\r\nHost: localhost\r\n\r\n",
                "GET /inner HTTP/1.1\r\nHost: localhost\r\n\r\n",
            }
            local conns = {}
            for _, req in ipairs(requests) do
                assert(sock:send(req))
                local status, h, body = read_response(sock)
                conns[h["x-conn"]] = true
                ngx.say(status, " | request ", h["x-req"], " on this connection, x-added: ", h["x-added"] or "-",
                        ", connection: ", h["connection"] or "-", " | ", (body:gsub("\n", "|")))
            end
            local n = 0
            for _ in pairs(conns) do n = n + 1 end
            ngx.say("connections: ", n)
            sock:close()
        }
    }
--- request
GET /t
--- response_body
HTTP/1.1 403 Forbidden | request 1 on this connection, x-added: -, connection: keep-alive | denied|
HTTP/1.1 200 OK | request 2 on this connection, x-added: 1, connection: keep-alive | body|changed by the plugin|
HTTP/1.1 200 OK | request 3 on this connection, x-added: 1, connection: keep-alive | body|changed by the plugin|
connections: 1
--- grep_error_log eval: qr/hostcalls: on_(?:request_headers|response_headers) num_headers=\d+/
--- grep_error_log_out
hostcalls: on_request_headers num_headers=5
hostcalls: on_request_headers num_headers=4
hostcalls: on_response_headers num_headers=4
hostcalls: on_request_headers num_headers=4
hostcalls: on_response_headers num_headers=4
--- no_error_log
[error]
[alert]
[crit]
