# The failure matrix of the Lua path (issue 14), through the api7 Lua API (resty.proxy-wasm) as APISIX calls it:
# a plugin that fails (t/plugins/hostile, Rust SDK; t/plugins/fault_injection_as/assembly/hostile.ts,
# AssemblyScript) makes the API call that ran it return nil, err; every later call for that plugin on that
# request returns true without entering the plugin and logs nothing; the host logs exactly one [error] line
# (plugin, callback, cause); the next request runs in a fresh instance and is answered normally; the worker never
# dies. Here the Lua caller answers 500 when a request-phase call fails and lets the response go on when a
# response-phase call fails, logging each result at info ("lua: <call> -> <result>").
#
# The shape of a block (valid under the real Test::Nginx and the project's runner alike; see
# t/directives/17-failure-matrix.t): ONE request, GET /seq, whose Lua handler makes the real requests one after
# the other on cosockets (HTTP/1.1, so a cut chunked response shows as "truncated") and prints what each client
# got. With one worker (master_on, workers(1)) the worker that runs /seq also serves them: /seq reports whether
# the worker answering /pid afterwards is itself (same pid before and after); a worker that died would cut /seq
# short and be respawned, which the master logs at [alert] ("exited on signal").
use Test::Nginx::Socket::Lua 'no_plan';

master_on();
workers(1);
log_level('info');
no_shuffle();
run_tests();

__DATA__

=== TEST 1: Rust SDK, request_headers, panic: the call returns nil, err (the caller answers 500), one [error] line, later calls true without entering; the next request runs in a fresh instance
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("hostile", "t/plugins/hostile.wasm"))
        package.loaded.plugin_ctx = assert(wasm.on_configure(plugin, '{"fail": "request_headers", "how": "panic", "when": "header"}'))
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
    location = /t {
        access_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            local ctx = package.loaded.plugin_ctx
            local ok, err = wasm.on_http_request_headers(ctx)
            ngx.log(ngx.INFO, "lua: on_http_request_headers -> ", tostring(ok), " ", tostring(err))
            if not ok then
                return ngx.exit(500)
            end
            ngx.req.read_body()
            ok, err = wasm.on_http_request_body(ctx, ngx.req.get_body_data(), true)
            ngx.log(ngx.INFO, "lua: on_http_request_body -> ", tostring(ok), " ", tostring(err))
            if not ok then
                return ngx.exit(500)
            end
        }
        content_by_lua_block {
            ngx.say("upstream")
        }
        header_filter_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            local ok, err = wasm.on_http_response_headers(package.loaded.plugin_ctx)
            ngx.log(ngx.INFO, "lua: on_http_response_headers -> ", tostring(ok), " ", tostring(err))
        }
        body_filter_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            local ok, err = wasm.on_http_response_body(package.loaded.plugin_ctx)
            if not ngx.ctx.body_logged then
                ngx.ctx.body_logged = true
                ngx.log(ngx.INFO, "lua: on_http_response_body -> ", tostring(ok), " ", tostring(err))
            end
        }
    }
    location = /callee {
        return 200 "callee\n";
    }
    location = /pid {
        content_by_lua_block {
            ngx.print(ngx.worker.pid())
        }
    }
    location = /seq {
        content_by_lua_block {
            -- One HTTP/1.1 request on its own connection; what its client got: the status, then the page title
            -- or the (de-chunked) body, or "truncated" when a chunked body misses its last chunk.
            local function fetch(path, fail)
                local sock = ngx.socket.tcp()
                sock:settimeout(3000)
                assert(sock:connect("127.0.0.1", ngx.var.server_port))
                assert(sock:send("POST " .. path .. " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
                                 .. (fail and "X-Fail: 1\r\n" or "") .. "Content-Length: 7\r\n\r\npayload"))
                local raw = sock:receive("*a") or ""
                sock:close()
                local status, head, body = raw:match("^HTTP/1%.1 (%d+)[^\r]*\r\n(.-\r\n)\r\n(.*)$")
                if not status then
                    return "no response"
                end
                if head:lower():find("transfer-encoding: chunked", 1, true) then
                    local parts, pos = {}, 1
                    while true do
                        local size, at = body:match("^(%x+)\r\n()", pos)
                        if not size then
                            return status .. " truncated after " .. #table.concat(parts) .. " bytes"
                        end
                        size = tonumber(size, 16)
                        if size == 0 then
                            break
                        end
                        parts[#parts + 1] = body:sub(at, at + size - 1)
                        pos = at + size + 2
                    end
                    body = table.concat(parts)
                end
                return status .. " " .. (body:match("<title>(.-)</title>") or body:gsub("\n$", ""))
            end
            local pid = tostring(ngx.worker.pid())
            local before = fetch("/pid")
            ngx.say("failing: ", fetch("/t", true))
            ngx.say("next: ", fetch("/t", false))
            local after = fetch("/pid")
            ngx.say("same worker: ", before == "200 " .. pid and after == before)
        }
    }
--- request
GET /seq
--- response_body
failing: 500 500 Internal Server Error
next: 200 upstream
same worker: true
--- grep_error_log eval: qr/\[(?:error|alert|crit|emerg)\]|a fresh instance replaces the one that trapped|hostile(?:_as)?: (?:\w+ ran|failing in \w+|throwing in \w+)|lua: \w+ -> [^,]*/
--- grep_error_log_out
hostile: on_request_headers ran
hostile: failing in on_request_headers
[error]
lua: on_http_request_headers -> nil failed to run proxy_on_http_request_headers
lua: on_http_response_headers -> true nil
lua: on_http_response_body -> true nil
a fresh instance replaces the one that trapped
hostile: on_request_headers ran
lua: on_http_request_headers -> true nil
hostile: on_request_body ran
lua: on_http_request_body -> true nil
hostile: on_response_headers ran
lua: on_http_response_headers -> true nil
hostile: on_response_body ran
lua: on_http_response_body -> true nil
hostile: on_done ran
hostile: on_log ran
--- error_log eval
qr/\[error\] .*wasm plugin "hostile": proxy_on_request_headers failed: proxy_on_request_headers trapped: wasm trap: wasm `unreachable` instruction executed/
--- no_error_log
[alert]
[crit]
[emerg]
exited on signal



=== TEST 2: Rust SDK, request_headers, spin: the call returns nil, err (the caller answers 500), one [error] line, later calls true without entering; the next request runs in a fresh instance
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("hostile", "t/plugins/hostile.wasm"))
        package.loaded.plugin_ctx = assert(wasm.on_configure(plugin, '{"fail": "request_headers", "how": "spin", "when": "header"}'))
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
    location = /t {
        access_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            local ctx = package.loaded.plugin_ctx
            local ok, err = wasm.on_http_request_headers(ctx)
            ngx.log(ngx.INFO, "lua: on_http_request_headers -> ", tostring(ok), " ", tostring(err))
            if not ok then
                return ngx.exit(500)
            end
            ngx.req.read_body()
            ok, err = wasm.on_http_request_body(ctx, ngx.req.get_body_data(), true)
            ngx.log(ngx.INFO, "lua: on_http_request_body -> ", tostring(ok), " ", tostring(err))
            if not ok then
                return ngx.exit(500)
            end
        }
        content_by_lua_block {
            ngx.say("upstream")
        }
        header_filter_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            local ok, err = wasm.on_http_response_headers(package.loaded.plugin_ctx)
            ngx.log(ngx.INFO, "lua: on_http_response_headers -> ", tostring(ok), " ", tostring(err))
        }
        body_filter_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            local ok, err = wasm.on_http_response_body(package.loaded.plugin_ctx)
            if not ngx.ctx.body_logged then
                ngx.ctx.body_logged = true
                ngx.log(ngx.INFO, "lua: on_http_response_body -> ", tostring(ok), " ", tostring(err))
            end
        }
    }
    location = /callee {
        return 200 "callee\n";
    }
    location = /pid {
        content_by_lua_block {
            ngx.print(ngx.worker.pid())
        }
    }
    location = /seq {
        content_by_lua_block {
            -- One HTTP/1.1 request on its own connection; what its client got: the status, then the page title
            -- or the (de-chunked) body, or "truncated" when a chunked body misses its last chunk.
            local function fetch(path, fail)
                local sock = ngx.socket.tcp()
                sock:settimeout(3000)
                assert(sock:connect("127.0.0.1", ngx.var.server_port))
                assert(sock:send("POST " .. path .. " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
                                 .. (fail and "X-Fail: 1\r\n" or "") .. "Content-Length: 7\r\n\r\npayload"))
                local raw = sock:receive("*a") or ""
                sock:close()
                local status, head, body = raw:match("^HTTP/1%.1 (%d+)[^\r]*\r\n(.-\r\n)\r\n(.*)$")
                if not status then
                    return "no response"
                end
                if head:lower():find("transfer-encoding: chunked", 1, true) then
                    local parts, pos = {}, 1
                    while true do
                        local size, at = body:match("^(%x+)\r\n()", pos)
                        if not size then
                            return status .. " truncated after " .. #table.concat(parts) .. " bytes"
                        end
                        size = tonumber(size, 16)
                        if size == 0 then
                            break
                        end
                        parts[#parts + 1] = body:sub(at, at + size - 1)
                        pos = at + size + 2
                    end
                    body = table.concat(parts)
                end
                return status .. " " .. (body:match("<title>(.-)</title>") or body:gsub("\n$", ""))
            end
            local pid = tostring(ngx.worker.pid())
            local before = fetch("/pid")
            ngx.say("failing: ", fetch("/t", true))
            ngx.say("next: ", fetch("/t", false))
            local after = fetch("/pid")
            ngx.say("same worker: ", before == "200 " .. pid and after == before)
        }
    }
--- request
GET /seq
--- response_body
failing: 500 500 Internal Server Error
next: 200 upstream
same worker: true
--- grep_error_log eval: qr/\[(?:error|alert|crit|emerg)\]|a fresh instance replaces the one that trapped|hostile(?:_as)?: (?:\w+ ran|failing in \w+|throwing in \w+)|lua: \w+ -> [^,]*/
--- grep_error_log_out
hostile: on_request_headers ran
hostile: failing in on_request_headers
[error]
lua: on_http_request_headers -> nil failed to run proxy_on_http_request_headers
lua: on_http_response_headers -> true nil
lua: on_http_response_body -> true nil
a fresh instance replaces the one that trapped
hostile: on_request_headers ran
lua: on_http_request_headers -> true nil
hostile: on_request_body ran
lua: on_http_request_body -> true nil
hostile: on_response_headers ran
lua: on_http_response_headers -> true nil
hostile: on_response_body ran
lua: on_http_response_body -> true nil
hostile: on_done ran
hostile: on_log ran
--- error_log eval
qr/\[error\] .*wasm plugin "hostile": proxy_on_request_headers failed: proxy_on_request_headers trapped: interrupted: ran past its time limit of 10 ms/
--- no_error_log
[alert]
[crit]
[emerg]
exited on signal



=== TEST 3: Rust SDK, request_headers, grow: the call returns nil, err (the caller answers 500), one [error] line, later calls true without entering; the next request runs in a fresh instance
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("hostile", "t/plugins/hostile.wasm"))
        package.loaded.plugin_ctx = assert(wasm.on_configure(plugin, '{"fail": "request_headers", "how": "grow", "when": "header"}'))
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
    location = /t {
        access_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            local ctx = package.loaded.plugin_ctx
            local ok, err = wasm.on_http_request_headers(ctx)
            ngx.log(ngx.INFO, "lua: on_http_request_headers -> ", tostring(ok), " ", tostring(err))
            if not ok then
                return ngx.exit(500)
            end
            ngx.req.read_body()
            ok, err = wasm.on_http_request_body(ctx, ngx.req.get_body_data(), true)
            ngx.log(ngx.INFO, "lua: on_http_request_body -> ", tostring(ok), " ", tostring(err))
            if not ok then
                return ngx.exit(500)
            end
        }
        content_by_lua_block {
            ngx.say("upstream")
        }
        header_filter_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            local ok, err = wasm.on_http_response_headers(package.loaded.plugin_ctx)
            ngx.log(ngx.INFO, "lua: on_http_response_headers -> ", tostring(ok), " ", tostring(err))
        }
        body_filter_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            local ok, err = wasm.on_http_response_body(package.loaded.plugin_ctx)
            if not ngx.ctx.body_logged then
                ngx.ctx.body_logged = true
                ngx.log(ngx.INFO, "lua: on_http_response_body -> ", tostring(ok), " ", tostring(err))
            end
        }
    }
    location = /callee {
        return 200 "callee\n";
    }
    location = /pid {
        content_by_lua_block {
            ngx.print(ngx.worker.pid())
        }
    }
    location = /seq {
        content_by_lua_block {
            -- One HTTP/1.1 request on its own connection; what its client got: the status, then the page title
            -- or the (de-chunked) body, or "truncated" when a chunked body misses its last chunk.
            local function fetch(path, fail)
                local sock = ngx.socket.tcp()
                sock:settimeout(3000)
                assert(sock:connect("127.0.0.1", ngx.var.server_port))
                assert(sock:send("POST " .. path .. " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
                                 .. (fail and "X-Fail: 1\r\n" or "") .. "Content-Length: 7\r\n\r\npayload"))
                local raw = sock:receive("*a") or ""
                sock:close()
                local status, head, body = raw:match("^HTTP/1%.1 (%d+)[^\r]*\r\n(.-\r\n)\r\n(.*)$")
                if not status then
                    return "no response"
                end
                if head:lower():find("transfer-encoding: chunked", 1, true) then
                    local parts, pos = {}, 1
                    while true do
                        local size, at = body:match("^(%x+)\r\n()", pos)
                        if not size then
                            return status .. " truncated after " .. #table.concat(parts) .. " bytes"
                        end
                        size = tonumber(size, 16)
                        if size == 0 then
                            break
                        end
                        parts[#parts + 1] = body:sub(at, at + size - 1)
                        pos = at + size + 2
                    end
                    body = table.concat(parts)
                end
                return status .. " " .. (body:match("<title>(.-)</title>") or body:gsub("\n$", ""))
            end
            local pid = tostring(ngx.worker.pid())
            local before = fetch("/pid")
            ngx.say("failing: ", fetch("/t", true))
            ngx.say("next: ", fetch("/t", false))
            local after = fetch("/pid")
            ngx.say("same worker: ", before == "200 " .. pid and after == before)
        }
    }
--- request
GET /seq
--- response_body
failing: 500 500 Internal Server Error
next: 200 upstream
same worker: true
--- grep_error_log eval: qr/\[(?:error|alert|crit|emerg)\]|a fresh instance replaces the one that trapped|hostile(?:_as)?: (?:\w+ ran|failing in \w+|throwing in \w+)|lua: \w+ -> [^,]*/
--- grep_error_log_out
hostile: on_request_headers ran
hostile: failing in on_request_headers
[error]
lua: on_http_request_headers -> nil failed to run proxy_on_http_request_headers
lua: on_http_response_headers -> true nil
lua: on_http_response_body -> true nil
a fresh instance replaces the one that trapped
hostile: on_request_headers ran
lua: on_http_request_headers -> true nil
hostile: on_request_body ran
lua: on_http_request_body -> true nil
hostile: on_response_headers ran
lua: on_http_response_headers -> true nil
hostile: on_response_body ran
lua: on_http_response_body -> true nil
hostile: on_done ran
hostile: on_log ran
--- error_log eval
qr/\[error\] .*wasm plugin "hostile": proxy_on_request_headers failed: proxy_on_request_headers trapped: .*memory/
--- no_error_log
[alert]
[crit]
[emerg]
exited on signal



=== TEST 4: Rust SDK, request_body, panic: the call returns nil, err (the caller answers 500), one [error] line, later calls true without entering; the next request runs in a fresh instance
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("hostile", "t/plugins/hostile.wasm"))
        package.loaded.plugin_ctx = assert(wasm.on_configure(plugin, '{"fail": "request_body", "how": "panic", "when": "header"}'))
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
    location = /t {
        access_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            local ctx = package.loaded.plugin_ctx
            local ok, err = wasm.on_http_request_headers(ctx)
            ngx.log(ngx.INFO, "lua: on_http_request_headers -> ", tostring(ok), " ", tostring(err))
            if not ok then
                return ngx.exit(500)
            end
            ngx.req.read_body()
            ok, err = wasm.on_http_request_body(ctx, ngx.req.get_body_data(), true)
            ngx.log(ngx.INFO, "lua: on_http_request_body -> ", tostring(ok), " ", tostring(err))
            if not ok then
                return ngx.exit(500)
            end
        }
        content_by_lua_block {
            ngx.say("upstream")
        }
        header_filter_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            local ok, err = wasm.on_http_response_headers(package.loaded.plugin_ctx)
            ngx.log(ngx.INFO, "lua: on_http_response_headers -> ", tostring(ok), " ", tostring(err))
        }
        body_filter_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            local ok, err = wasm.on_http_response_body(package.loaded.plugin_ctx)
            if not ngx.ctx.body_logged then
                ngx.ctx.body_logged = true
                ngx.log(ngx.INFO, "lua: on_http_response_body -> ", tostring(ok), " ", tostring(err))
            end
        }
    }
    location = /callee {
        return 200 "callee\n";
    }
    location = /pid {
        content_by_lua_block {
            ngx.print(ngx.worker.pid())
        }
    }
    location = /seq {
        content_by_lua_block {
            -- One HTTP/1.1 request on its own connection; what its client got: the status, then the page title
            -- or the (de-chunked) body, or "truncated" when a chunked body misses its last chunk.
            local function fetch(path, fail)
                local sock = ngx.socket.tcp()
                sock:settimeout(3000)
                assert(sock:connect("127.0.0.1", ngx.var.server_port))
                assert(sock:send("POST " .. path .. " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
                                 .. (fail and "X-Fail: 1\r\n" or "") .. "Content-Length: 7\r\n\r\npayload"))
                local raw = sock:receive("*a") or ""
                sock:close()
                local status, head, body = raw:match("^HTTP/1%.1 (%d+)[^\r]*\r\n(.-\r\n)\r\n(.*)$")
                if not status then
                    return "no response"
                end
                if head:lower():find("transfer-encoding: chunked", 1, true) then
                    local parts, pos = {}, 1
                    while true do
                        local size, at = body:match("^(%x+)\r\n()", pos)
                        if not size then
                            return status .. " truncated after " .. #table.concat(parts) .. " bytes"
                        end
                        size = tonumber(size, 16)
                        if size == 0 then
                            break
                        end
                        parts[#parts + 1] = body:sub(at, at + size - 1)
                        pos = at + size + 2
                    end
                    body = table.concat(parts)
                end
                return status .. " " .. (body:match("<title>(.-)</title>") or body:gsub("\n$", ""))
            end
            local pid = tostring(ngx.worker.pid())
            local before = fetch("/pid")
            ngx.say("failing: ", fetch("/t", true))
            ngx.say("next: ", fetch("/t", false))
            local after = fetch("/pid")
            ngx.say("same worker: ", before == "200 " .. pid and after == before)
        }
    }
--- request
GET /seq
--- response_body
failing: 500 500 Internal Server Error
next: 200 upstream
same worker: true
--- grep_error_log eval: qr/\[(?:error|alert|crit|emerg)\]|a fresh instance replaces the one that trapped|hostile(?:_as)?: (?:\w+ ran|failing in \w+|throwing in \w+)|lua: \w+ -> [^,]*/
--- grep_error_log_out
hostile: on_request_headers ran
lua: on_http_request_headers -> true nil
hostile: on_request_body ran
hostile: failing in on_request_body
[error]
lua: on_http_request_body -> nil failed to run proxy_on_http_request_body
lua: on_http_response_headers -> true nil
lua: on_http_response_body -> true nil
a fresh instance replaces the one that trapped
hostile: on_request_headers ran
lua: on_http_request_headers -> true nil
hostile: on_request_body ran
lua: on_http_request_body -> true nil
hostile: on_response_headers ran
lua: on_http_response_headers -> true nil
hostile: on_response_body ran
lua: on_http_response_body -> true nil
hostile: on_done ran
hostile: on_log ran
--- error_log eval
qr/\[error\] .*wasm plugin "hostile": proxy_on_request_body failed: proxy_on_request_body trapped: wasm trap: wasm `unreachable` instruction executed/
--- no_error_log
[alert]
[crit]
[emerg]
exited on signal



=== TEST 5: Rust SDK, response_headers, panic: the call returns nil, err (the response goes on), one [error] line, later calls true without entering; the next request runs in a fresh instance
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("hostile", "t/plugins/hostile.wasm"))
        package.loaded.plugin_ctx = assert(wasm.on_configure(plugin, '{"fail": "response_headers", "how": "panic", "when": "header"}'))
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
    location = /t {
        access_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            local ctx = package.loaded.plugin_ctx
            local ok, err = wasm.on_http_request_headers(ctx)
            ngx.log(ngx.INFO, "lua: on_http_request_headers -> ", tostring(ok), " ", tostring(err))
            if not ok then
                return ngx.exit(500)
            end
            ngx.req.read_body()
            ok, err = wasm.on_http_request_body(ctx, ngx.req.get_body_data(), true)
            ngx.log(ngx.INFO, "lua: on_http_request_body -> ", tostring(ok), " ", tostring(err))
            if not ok then
                return ngx.exit(500)
            end
        }
        content_by_lua_block {
            ngx.say("upstream")
        }
        header_filter_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            local ok, err = wasm.on_http_response_headers(package.loaded.plugin_ctx)
            ngx.log(ngx.INFO, "lua: on_http_response_headers -> ", tostring(ok), " ", tostring(err))
        }
        body_filter_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            local ok, err = wasm.on_http_response_body(package.loaded.plugin_ctx)
            if not ngx.ctx.body_logged then
                ngx.ctx.body_logged = true
                ngx.log(ngx.INFO, "lua: on_http_response_body -> ", tostring(ok), " ", tostring(err))
            end
        }
    }
    location = /callee {
        return 200 "callee\n";
    }
    location = /pid {
        content_by_lua_block {
            ngx.print(ngx.worker.pid())
        }
    }
    location = /seq {
        content_by_lua_block {
            -- One HTTP/1.1 request on its own connection; what its client got: the status, then the page title
            -- or the (de-chunked) body, or "truncated" when a chunked body misses its last chunk.
            local function fetch(path, fail)
                local sock = ngx.socket.tcp()
                sock:settimeout(3000)
                assert(sock:connect("127.0.0.1", ngx.var.server_port))
                assert(sock:send("POST " .. path .. " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
                                 .. (fail and "X-Fail: 1\r\n" or "") .. "Content-Length: 7\r\n\r\npayload"))
                local raw = sock:receive("*a") or ""
                sock:close()
                local status, head, body = raw:match("^HTTP/1%.1 (%d+)[^\r]*\r\n(.-\r\n)\r\n(.*)$")
                if not status then
                    return "no response"
                end
                if head:lower():find("transfer-encoding: chunked", 1, true) then
                    local parts, pos = {}, 1
                    while true do
                        local size, at = body:match("^(%x+)\r\n()", pos)
                        if not size then
                            return status .. " truncated after " .. #table.concat(parts) .. " bytes"
                        end
                        size = tonumber(size, 16)
                        if size == 0 then
                            break
                        end
                        parts[#parts + 1] = body:sub(at, at + size - 1)
                        pos = at + size + 2
                    end
                    body = table.concat(parts)
                end
                return status .. " " .. (body:match("<title>(.-)</title>") or body:gsub("\n$", ""))
            end
            local pid = tostring(ngx.worker.pid())
            local before = fetch("/pid")
            ngx.say("failing: ", fetch("/t", true))
            ngx.say("next: ", fetch("/t", false))
            local after = fetch("/pid")
            ngx.say("same worker: ", before == "200 " .. pid and after == before)
        }
    }
--- request
GET /seq
--- response_body
failing: 200 upstream
next: 200 upstream
same worker: true
--- grep_error_log eval: qr/\[(?:error|alert|crit|emerg)\]|a fresh instance replaces the one that trapped|hostile(?:_as)?: (?:\w+ ran|failing in \w+|throwing in \w+)|lua: \w+ -> [^,]*/
--- grep_error_log_out
hostile: on_request_headers ran
lua: on_http_request_headers -> true nil
hostile: on_request_body ran
lua: on_http_request_body -> true nil
hostile: on_response_headers ran
hostile: failing in on_response_headers
[error]
lua: on_http_response_headers -> nil failed to run proxy_on_http_response_headers
lua: on_http_response_body -> true nil
a fresh instance replaces the one that trapped
hostile: on_request_headers ran
lua: on_http_request_headers -> true nil
hostile: on_request_body ran
lua: on_http_request_body -> true nil
hostile: on_response_headers ran
lua: on_http_response_headers -> true nil
hostile: on_response_body ran
lua: on_http_response_body -> true nil
hostile: on_done ran
hostile: on_log ran
--- error_log eval
qr/\[error\] .*wasm plugin "hostile": proxy_on_response_headers failed: proxy_on_response_headers trapped: wasm trap: wasm `unreachable` instruction executed/
--- no_error_log
[alert]
[crit]
[emerg]
exited on signal



=== TEST 6: Rust SDK, response_body, panic: the call returns nil, err (the response goes on), one [error] line, later calls true without entering; the next request runs in a fresh instance
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("hostile", "t/plugins/hostile.wasm"))
        package.loaded.plugin_ctx = assert(wasm.on_configure(plugin, '{"fail": "response_body", "how": "panic", "when": "header"}'))
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
    location = /t {
        access_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            local ctx = package.loaded.plugin_ctx
            local ok, err = wasm.on_http_request_headers(ctx)
            ngx.log(ngx.INFO, "lua: on_http_request_headers -> ", tostring(ok), " ", tostring(err))
            if not ok then
                return ngx.exit(500)
            end
            ngx.req.read_body()
            ok, err = wasm.on_http_request_body(ctx, ngx.req.get_body_data(), true)
            ngx.log(ngx.INFO, "lua: on_http_request_body -> ", tostring(ok), " ", tostring(err))
            if not ok then
                return ngx.exit(500)
            end
        }
        content_by_lua_block {
            ngx.say("upstream")
        }
        header_filter_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            local ok, err = wasm.on_http_response_headers(package.loaded.plugin_ctx)
            ngx.log(ngx.INFO, "lua: on_http_response_headers -> ", tostring(ok), " ", tostring(err))
        }
        body_filter_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            local ok, err = wasm.on_http_response_body(package.loaded.plugin_ctx)
            if not ngx.ctx.body_logged then
                ngx.ctx.body_logged = true
                ngx.log(ngx.INFO, "lua: on_http_response_body -> ", tostring(ok), " ", tostring(err))
            end
        }
    }
    location = /callee {
        return 200 "callee\n";
    }
    location = /pid {
        content_by_lua_block {
            ngx.print(ngx.worker.pid())
        }
    }
    location = /seq {
        content_by_lua_block {
            -- One HTTP/1.1 request on its own connection; what its client got: the status, then the page title
            -- or the (de-chunked) body, or "truncated" when a chunked body misses its last chunk.
            local function fetch(path, fail)
                local sock = ngx.socket.tcp()
                sock:settimeout(3000)
                assert(sock:connect("127.0.0.1", ngx.var.server_port))
                assert(sock:send("POST " .. path .. " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
                                 .. (fail and "X-Fail: 1\r\n" or "") .. "Content-Length: 7\r\n\r\npayload"))
                local raw = sock:receive("*a") or ""
                sock:close()
                local status, head, body = raw:match("^HTTP/1%.1 (%d+)[^\r]*\r\n(.-\r\n)\r\n(.*)$")
                if not status then
                    return "no response"
                end
                if head:lower():find("transfer-encoding: chunked", 1, true) then
                    local parts, pos = {}, 1
                    while true do
                        local size, at = body:match("^(%x+)\r\n()", pos)
                        if not size then
                            return status .. " truncated after " .. #table.concat(parts) .. " bytes"
                        end
                        size = tonumber(size, 16)
                        if size == 0 then
                            break
                        end
                        parts[#parts + 1] = body:sub(at, at + size - 1)
                        pos = at + size + 2
                    end
                    body = table.concat(parts)
                end
                return status .. " " .. (body:match("<title>(.-)</title>") or body:gsub("\n$", ""))
            end
            local pid = tostring(ngx.worker.pid())
            local before = fetch("/pid")
            ngx.say("failing: ", fetch("/t", true))
            ngx.say("next: ", fetch("/t", false))
            local after = fetch("/pid")
            ngx.say("same worker: ", before == "200 " .. pid and after == before)
        }
    }
--- request
GET /seq
--- response_body
failing: 200 upstream
next: 200 upstream
same worker: true
--- grep_error_log eval: qr/\[(?:error|alert|crit|emerg)\]|a fresh instance replaces the one that trapped|hostile(?:_as)?: (?:\w+ ran|failing in \w+|throwing in \w+)|lua: \w+ -> [^,]*/
--- grep_error_log_out
hostile: on_request_headers ran
lua: on_http_request_headers -> true nil
hostile: on_request_body ran
lua: on_http_request_body -> true nil
hostile: on_response_headers ran
lua: on_http_response_headers -> true nil
hostile: on_response_body ran
hostile: failing in on_response_body
[error]
lua: on_http_response_body -> nil failed to run proxy_on_http_response_body
a fresh instance replaces the one that trapped
hostile: on_request_headers ran
lua: on_http_request_headers -> true nil
hostile: on_request_body ran
lua: on_http_request_body -> true nil
hostile: on_response_headers ran
lua: on_http_response_headers -> true nil
hostile: on_response_body ran
lua: on_http_response_body -> true nil
hostile: on_done ran
hostile: on_log ran
--- error_log eval
qr/\[error\] .*wasm plugin "hostile": proxy_on_response_body failed: proxy_on_response_body trapped: wasm trap: wasm `unreachable` instruction executed/
--- no_error_log
[alert]
[crit]
[emerg]
exited on signal



=== TEST 7: Rust SDK, http_call_response, panic: on_http_request_headers returns nil, err (the caller answers 500), one [error] line, later calls true without entering; the next request runs in a fresh instance
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("hostile", "t/plugins/hostile.wasm"))
        package.loaded.plugin_ctx = assert(wasm.on_configure(plugin, '{"fail": "http_call_response", "how": "panic", "when": "header", "upstream": "127.0.0.1:$TEST_NGINX_SERVER_PORT", "path": "/callee"}'))
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
    location = /t {
        access_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            local ctx = package.loaded.plugin_ctx
            local ok, err = wasm.on_http_request_headers(ctx)
            ngx.log(ngx.INFO, "lua: on_http_request_headers -> ", tostring(ok), " ", tostring(err))
            if not ok then
                return ngx.exit(500)
            end
            ngx.req.read_body()
            ok, err = wasm.on_http_request_body(ctx, ngx.req.get_body_data(), true)
            ngx.log(ngx.INFO, "lua: on_http_request_body -> ", tostring(ok), " ", tostring(err))
            if not ok then
                return ngx.exit(500)
            end
        }
        content_by_lua_block {
            ngx.say("upstream")
        }
        header_filter_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            local ok, err = wasm.on_http_response_headers(package.loaded.plugin_ctx)
            ngx.log(ngx.INFO, "lua: on_http_response_headers -> ", tostring(ok), " ", tostring(err))
        }
        body_filter_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            local ok, err = wasm.on_http_response_body(package.loaded.plugin_ctx)
            if not ngx.ctx.body_logged then
                ngx.ctx.body_logged = true
                ngx.log(ngx.INFO, "lua: on_http_response_body -> ", tostring(ok), " ", tostring(err))
            end
        }
    }
    location = /callee {
        return 200 "callee\n";
    }
    location = /pid {
        content_by_lua_block {
            ngx.print(ngx.worker.pid())
        }
    }
    location = /seq {
        content_by_lua_block {
            -- One HTTP/1.1 request on its own connection; what its client got: the status, then the page title
            -- or the (de-chunked) body, or "truncated" when a chunked body misses its last chunk.
            local function fetch(path, fail)
                local sock = ngx.socket.tcp()
                sock:settimeout(3000)
                assert(sock:connect("127.0.0.1", ngx.var.server_port))
                assert(sock:send("POST " .. path .. " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
                                 .. (fail and "X-Fail: 1\r\n" or "") .. "Content-Length: 7\r\n\r\npayload"))
                local raw = sock:receive("*a") or ""
                sock:close()
                local status, head, body = raw:match("^HTTP/1%.1 (%d+)[^\r]*\r\n(.-\r\n)\r\n(.*)$")
                if not status then
                    return "no response"
                end
                if head:lower():find("transfer-encoding: chunked", 1, true) then
                    local parts, pos = {}, 1
                    while true do
                        local size, at = body:match("^(%x+)\r\n()", pos)
                        if not size then
                            return status .. " truncated after " .. #table.concat(parts) .. " bytes"
                        end
                        size = tonumber(size, 16)
                        if size == 0 then
                            break
                        end
                        parts[#parts + 1] = body:sub(at, at + size - 1)
                        pos = at + size + 2
                    end
                    body = table.concat(parts)
                end
                return status .. " " .. (body:match("<title>(.-)</title>") or body:gsub("\n$", ""))
            end
            local pid = tostring(ngx.worker.pid())
            local before = fetch("/pid")
            ngx.say("failing: ", fetch("/t", true))
            ngx.say("next: ", fetch("/t", false))
            local after = fetch("/pid")
            ngx.say("same worker: ", before == "200 " .. pid and after == before)
        }
    }
--- request
GET /seq
--- response_body
failing: 500 500 Internal Server Error
next: 200 upstream
same worker: true
--- grep_error_log eval: qr/\[(?:error|alert|crit|emerg)\]|a fresh instance replaces the one that trapped|hostile(?:_as)?: (?:\w+ ran|failing in \w+|throwing in \w+)|lua: \w+ -> [^,]*/
--- grep_error_log_out
hostile: on_request_headers ran
hostile: on_http_call_response ran
hostile: failing in on_http_call_response
[error]
lua: on_http_request_headers -> nil failed to run proxy_on_http_call_response
lua: on_http_response_headers -> true nil
lua: on_http_response_body -> true nil
a fresh instance replaces the one that trapped
hostile: on_request_headers ran
hostile: on_http_call_response ran
lua: on_http_request_headers -> true nil
hostile: on_request_body ran
lua: on_http_request_body -> true nil
hostile: on_response_headers ran
lua: on_http_response_headers -> true nil
hostile: on_response_body ran
lua: on_http_response_body -> true nil
hostile: on_done ran
hostile: on_log ran
--- error_log eval
qr/\[error\] .*wasm plugin "hostile": proxy_on_http_call_response failed: proxy_on_http_call_response trapped: wasm trap: wasm `unreachable` instruction executed/
--- no_error_log
[alert]
[crit]
[emerg]
exited on signal



=== TEST 8: AssemblyScript, throw in request_headers: the runtime's [crit] line, one [error] line, later calls true without entering; the next request runs in a fresh instance
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("hostile_as", "t/plugins/hostile_as.wasm"))
        package.loaded.plugin_ctx = assert(wasm.on_configure(plugin, '{"throw_in": "request_headers", "when": "header"}'))
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
    location = /t {
        access_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            local ctx = package.loaded.plugin_ctx
            local ok, err = wasm.on_http_request_headers(ctx)
            ngx.log(ngx.INFO, "lua: on_http_request_headers -> ", tostring(ok), " ", tostring(err))
            if not ok then
                return ngx.exit(500)
            end
            ngx.req.read_body()
            ok, err = wasm.on_http_request_body(ctx, ngx.req.get_body_data(), true)
            ngx.log(ngx.INFO, "lua: on_http_request_body -> ", tostring(ok), " ", tostring(err))
            if not ok then
                return ngx.exit(500)
            end
        }
        content_by_lua_block {
            ngx.say("upstream")
        }
        header_filter_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            local ok, err = wasm.on_http_response_headers(package.loaded.plugin_ctx)
            ngx.log(ngx.INFO, "lua: on_http_response_headers -> ", tostring(ok), " ", tostring(err))
        }
        body_filter_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            local ok, err = wasm.on_http_response_body(package.loaded.plugin_ctx)
            if not ngx.ctx.body_logged then
                ngx.ctx.body_logged = true
                ngx.log(ngx.INFO, "lua: on_http_response_body -> ", tostring(ok), " ", tostring(err))
            end
        }
    }
    location = /callee {
        return 200 "callee\n";
    }
    location = /pid {
        content_by_lua_block {
            ngx.print(ngx.worker.pid())
        }
    }
    location = /seq {
        content_by_lua_block {
            -- One HTTP/1.1 request on its own connection; what its client got: the status, then the page title
            -- or the (de-chunked) body, or "truncated" when a chunked body misses its last chunk.
            local function fetch(path, fail)
                local sock = ngx.socket.tcp()
                sock:settimeout(3000)
                assert(sock:connect("127.0.0.1", ngx.var.server_port))
                assert(sock:send("POST " .. path .. " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
                                 .. (fail and "X-Fail: 1\r\n" or "") .. "Content-Length: 7\r\n\r\npayload"))
                local raw = sock:receive("*a") or ""
                sock:close()
                local status, head, body = raw:match("^HTTP/1%.1 (%d+)[^\r]*\r\n(.-\r\n)\r\n(.*)$")
                if not status then
                    return "no response"
                end
                if head:lower():find("transfer-encoding: chunked", 1, true) then
                    local parts, pos = {}, 1
                    while true do
                        local size, at = body:match("^(%x+)\r\n()", pos)
                        if not size then
                            return status .. " truncated after " .. #table.concat(parts) .. " bytes"
                        end
                        size = tonumber(size, 16)
                        if size == 0 then
                            break
                        end
                        parts[#parts + 1] = body:sub(at, at + size - 1)
                        pos = at + size + 2
                    end
                    body = table.concat(parts)
                end
                return status .. " " .. (body:match("<title>(.-)</title>") or body:gsub("\n$", ""))
            end
            local pid = tostring(ngx.worker.pid())
            local before = fetch("/pid")
            ngx.say("failing: ", fetch("/t", true))
            ngx.say("next: ", fetch("/t", false))
            local after = fetch("/pid")
            ngx.say("same worker: ", before == "200 " .. pid and after == before)
        }
    }
--- request
GET /seq
--- response_body
failing: 500 500 Internal Server Error
next: 200 upstream
same worker: true
--- grep_error_log eval: qr/\[(?:error|alert|crit|emerg)\]|a fresh instance replaces the one that trapped|hostile(?:_as)?: (?:\w+ ran|failing in \w+|throwing in \w+)|lua: \w+ -> [^,]*/
--- grep_error_log_out
hostile_as: request_headers ran
hostile_as: throwing in request_headers
[crit]
[error]
lua: on_http_request_headers -> nil failed to run proxy_on_http_request_headers
lua: on_http_response_headers -> true nil
lua: on_http_response_body -> true nil
a fresh instance replaces the one that trapped
hostile_as: request_headers ran
lua: on_http_request_headers -> true nil
hostile_as: request_body ran
lua: on_http_request_body -> true nil
hostile_as: response_headers ran
lua: on_http_response_headers -> true nil
hostile_as: response_body ran
lua: on_http_response_body -> true nil
hostile_as: log ran
--- error_log eval
[qr/\[crit\] .*wasm plugin "hostile_as": hostile_as: thrown in request_headers at: assembly\/hostile\.ts/,
 qr/\[error\] .*wasm plugin "hostile_as": proxy_on_request_headers failed: proxy_on_request_headers trapped: [^,]*proc_exit\(255\)/]
--- no_error_log
[alert]
[emerg]
exited on signal



=== TEST 9: AssemblyScript, throw in response_headers: the runtime's [crit] line, one [error] line, later calls true without entering; the next request runs in a fresh instance
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("hostile_as", "t/plugins/hostile_as.wasm"))
        package.loaded.plugin_ctx = assert(wasm.on_configure(plugin, '{"throw_in": "response_headers", "when": "header"}'))
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
    location = /t {
        access_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            local ctx = package.loaded.plugin_ctx
            local ok, err = wasm.on_http_request_headers(ctx)
            ngx.log(ngx.INFO, "lua: on_http_request_headers -> ", tostring(ok), " ", tostring(err))
            if not ok then
                return ngx.exit(500)
            end
            ngx.req.read_body()
            ok, err = wasm.on_http_request_body(ctx, ngx.req.get_body_data(), true)
            ngx.log(ngx.INFO, "lua: on_http_request_body -> ", tostring(ok), " ", tostring(err))
            if not ok then
                return ngx.exit(500)
            end
        }
        content_by_lua_block {
            ngx.say("upstream")
        }
        header_filter_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            local ok, err = wasm.on_http_response_headers(package.loaded.plugin_ctx)
            ngx.log(ngx.INFO, "lua: on_http_response_headers -> ", tostring(ok), " ", tostring(err))
        }
        body_filter_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            local ok, err = wasm.on_http_response_body(package.loaded.plugin_ctx)
            if not ngx.ctx.body_logged then
                ngx.ctx.body_logged = true
                ngx.log(ngx.INFO, "lua: on_http_response_body -> ", tostring(ok), " ", tostring(err))
            end
        }
    }
    location = /callee {
        return 200 "callee\n";
    }
    location = /pid {
        content_by_lua_block {
            ngx.print(ngx.worker.pid())
        }
    }
    location = /seq {
        content_by_lua_block {
            -- One HTTP/1.1 request on its own connection; what its client got: the status, then the page title
            -- or the (de-chunked) body, or "truncated" when a chunked body misses its last chunk.
            local function fetch(path, fail)
                local sock = ngx.socket.tcp()
                sock:settimeout(3000)
                assert(sock:connect("127.0.0.1", ngx.var.server_port))
                assert(sock:send("POST " .. path .. " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
                                 .. (fail and "X-Fail: 1\r\n" or "") .. "Content-Length: 7\r\n\r\npayload"))
                local raw = sock:receive("*a") or ""
                sock:close()
                local status, head, body = raw:match("^HTTP/1%.1 (%d+)[^\r]*\r\n(.-\r\n)\r\n(.*)$")
                if not status then
                    return "no response"
                end
                if head:lower():find("transfer-encoding: chunked", 1, true) then
                    local parts, pos = {}, 1
                    while true do
                        local size, at = body:match("^(%x+)\r\n()", pos)
                        if not size then
                            return status .. " truncated after " .. #table.concat(parts) .. " bytes"
                        end
                        size = tonumber(size, 16)
                        if size == 0 then
                            break
                        end
                        parts[#parts + 1] = body:sub(at, at + size - 1)
                        pos = at + size + 2
                    end
                    body = table.concat(parts)
                end
                return status .. " " .. (body:match("<title>(.-)</title>") or body:gsub("\n$", ""))
            end
            local pid = tostring(ngx.worker.pid())
            local before = fetch("/pid")
            ngx.say("failing: ", fetch("/t", true))
            ngx.say("next: ", fetch("/t", false))
            local after = fetch("/pid")
            ngx.say("same worker: ", before == "200 " .. pid and after == before)
        }
    }
--- request
GET /seq
--- response_body
failing: 200 upstream
next: 200 upstream
same worker: true
--- grep_error_log eval: qr/\[(?:error|alert|crit|emerg)\]|a fresh instance replaces the one that trapped|hostile(?:_as)?: (?:\w+ ran|failing in \w+|throwing in \w+)|lua: \w+ -> [^,]*/
--- grep_error_log_out
hostile_as: request_headers ran
lua: on_http_request_headers -> true nil
hostile_as: request_body ran
lua: on_http_request_body -> true nil
hostile_as: response_headers ran
hostile_as: throwing in response_headers
[crit]
[error]
lua: on_http_response_headers -> nil failed to run proxy_on_http_response_headers
lua: on_http_response_body -> true nil
a fresh instance replaces the one that trapped
hostile_as: request_headers ran
lua: on_http_request_headers -> true nil
hostile_as: request_body ran
lua: on_http_request_body -> true nil
hostile_as: response_headers ran
lua: on_http_response_headers -> true nil
hostile_as: response_body ran
lua: on_http_response_body -> true nil
hostile_as: log ran
--- error_log eval
[qr/\[crit\] .*wasm plugin "hostile_as": hostile_as: thrown in response_headers at: assembly\/hostile\.ts/,
 qr/\[error\] .*wasm plugin "hostile_as": proxy_on_response_headers failed: proxy_on_response_headers trapped: [^,]*proc_exit\(255\)/]
--- no_error_log
[alert]
[emerg]
exited on signal



=== TEST 10: AssemblyScript, throw in response_body: the runtime's [crit] line, one [error] line, later calls true without entering; the next request runs in a fresh instance
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("hostile_as", "t/plugins/hostile_as.wasm"))
        package.loaded.plugin_ctx = assert(wasm.on_configure(plugin, '{"throw_in": "response_body", "when": "header"}'))
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
    location = /t {
        access_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            local ctx = package.loaded.plugin_ctx
            local ok, err = wasm.on_http_request_headers(ctx)
            ngx.log(ngx.INFO, "lua: on_http_request_headers -> ", tostring(ok), " ", tostring(err))
            if not ok then
                return ngx.exit(500)
            end
            ngx.req.read_body()
            ok, err = wasm.on_http_request_body(ctx, ngx.req.get_body_data(), true)
            ngx.log(ngx.INFO, "lua: on_http_request_body -> ", tostring(ok), " ", tostring(err))
            if not ok then
                return ngx.exit(500)
            end
        }
        content_by_lua_block {
            ngx.say("upstream")
        }
        header_filter_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            local ok, err = wasm.on_http_response_headers(package.loaded.plugin_ctx)
            ngx.log(ngx.INFO, "lua: on_http_response_headers -> ", tostring(ok), " ", tostring(err))
        }
        body_filter_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            local ok, err = wasm.on_http_response_body(package.loaded.plugin_ctx)
            if not ngx.ctx.body_logged then
                ngx.ctx.body_logged = true
                ngx.log(ngx.INFO, "lua: on_http_response_body -> ", tostring(ok), " ", tostring(err))
            end
        }
    }
    location = /callee {
        return 200 "callee\n";
    }
    location = /pid {
        content_by_lua_block {
            ngx.print(ngx.worker.pid())
        }
    }
    location = /seq {
        content_by_lua_block {
            -- One HTTP/1.1 request on its own connection; what its client got: the status, then the page title
            -- or the (de-chunked) body, or "truncated" when a chunked body misses its last chunk.
            local function fetch(path, fail)
                local sock = ngx.socket.tcp()
                sock:settimeout(3000)
                assert(sock:connect("127.0.0.1", ngx.var.server_port))
                assert(sock:send("POST " .. path .. " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
                                 .. (fail and "X-Fail: 1\r\n" or "") .. "Content-Length: 7\r\n\r\npayload"))
                local raw = sock:receive("*a") or ""
                sock:close()
                local status, head, body = raw:match("^HTTP/1%.1 (%d+)[^\r]*\r\n(.-\r\n)\r\n(.*)$")
                if not status then
                    return "no response"
                end
                if head:lower():find("transfer-encoding: chunked", 1, true) then
                    local parts, pos = {}, 1
                    while true do
                        local size, at = body:match("^(%x+)\r\n()", pos)
                        if not size then
                            return status .. " truncated after " .. #table.concat(parts) .. " bytes"
                        end
                        size = tonumber(size, 16)
                        if size == 0 then
                            break
                        end
                        parts[#parts + 1] = body:sub(at, at + size - 1)
                        pos = at + size + 2
                    end
                    body = table.concat(parts)
                end
                return status .. " " .. (body:match("<title>(.-)</title>") or body:gsub("\n$", ""))
            end
            local pid = tostring(ngx.worker.pid())
            local before = fetch("/pid")
            ngx.say("failing: ", fetch("/t", true))
            ngx.say("next: ", fetch("/t", false))
            local after = fetch("/pid")
            ngx.say("same worker: ", before == "200 " .. pid and after == before)
        }
    }
--- request
GET /seq
--- response_body
failing: 200 upstream
next: 200 upstream
same worker: true
--- grep_error_log eval: qr/\[(?:error|alert|crit|emerg)\]|a fresh instance replaces the one that trapped|hostile(?:_as)?: (?:\w+ ran|failing in \w+|throwing in \w+)|lua: \w+ -> [^,]*/
--- grep_error_log_out
hostile_as: request_headers ran
lua: on_http_request_headers -> true nil
hostile_as: request_body ran
lua: on_http_request_body -> true nil
hostile_as: response_headers ran
lua: on_http_response_headers -> true nil
hostile_as: response_body ran
hostile_as: throwing in response_body
[crit]
[error]
lua: on_http_response_body -> nil failed to run proxy_on_http_response_body
a fresh instance replaces the one that trapped
hostile_as: request_headers ran
lua: on_http_request_headers -> true nil
hostile_as: request_body ran
lua: on_http_request_body -> true nil
hostile_as: response_headers ran
lua: on_http_response_headers -> true nil
hostile_as: response_body ran
lua: on_http_response_body -> true nil
hostile_as: log ran
--- error_log eval
[qr/\[crit\] .*wasm plugin "hostile_as": hostile_as: thrown in response_body at: assembly\/hostile\.ts/,
 qr/\[error\] .*wasm plugin "hostile_as": proxy_on_response_body failed: proxy_on_response_body trapped: [^,]*proc_exit\(255\)/]
--- no_error_log
[alert]
[emerg]
exited on signal



=== TEST 11: directive path (proxy_wasm), response_body, panic on the last call, closed: an HTTP/1.1 client gets the chunks sent before and no last chunk; one [error] line; the next request runs in a fresh instance
--- http_config
    wasm_plugin hostile ../../t/plugins/hostile.wasm time_limit=20ms memory_limit=16m;
--- config
    location /proxy-wasm-calls {
        internal;
        proxy_wasm_http_calls;
        proxy_pass $proxy_wasm_call_url;
        proxy_set_header Host $proxy_wasm_call_authority;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
    }
    location = /t {
        proxy_wasm hostile '{"fail": "response_body", "how": "panic", "when": "header", "body": "last"}';
        content_by_lua_block {
            for _, part in ipairs({"a", "b", "c"}) do
                ngx.print(part)
                ngx.flush(true)
            end
        }
    }
    location = /lua-t {
        access_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            local ctx = package.loaded.plugin_ctx
            local ok, err = wasm.on_http_request_headers(ctx)
            ngx.log(ngx.INFO, "lua: on_http_request_headers -> ", tostring(ok), " ", tostring(err))
            if not ok then
                return ngx.exit(500)
            end
            ngx.req.read_body()
            ok, err = wasm.on_http_request_body(ctx, ngx.req.get_body_data(), true)
            ngx.log(ngx.INFO, "lua: on_http_request_body -> ", tostring(ok), " ", tostring(err))
            if not ok then
                return ngx.exit(500)
            end
        }
        content_by_lua_block {
            ngx.say("upstream")
        }
        header_filter_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            local ok, err = wasm.on_http_response_headers(package.loaded.plugin_ctx)
            ngx.log(ngx.INFO, "lua: on_http_response_headers -> ", tostring(ok), " ", tostring(err))
        }
        body_filter_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            local ok, err = wasm.on_http_response_body(package.loaded.plugin_ctx)
            if not ngx.ctx.body_logged then
                ngx.ctx.body_logged = true
                ngx.log(ngx.INFO, "lua: on_http_response_body -> ", tostring(ok), " ", tostring(err))
            end
        }
    }
    location = /callee {
        return 200 "callee\n";
    }
    location = /pid {
        content_by_lua_block {
            ngx.print(ngx.worker.pid())
        }
    }
    location = /seq {
        content_by_lua_block {
            -- One HTTP/1.1 request on its own connection; what its client got: the status, then the page title
            -- or the (de-chunked) body, or "truncated" when a chunked body misses its last chunk.
            local function fetch(path, fail)
                local sock = ngx.socket.tcp()
                sock:settimeout(3000)
                assert(sock:connect("127.0.0.1", ngx.var.server_port))
                assert(sock:send("POST " .. path .. " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
                                 .. (fail and "X-Fail: 1\r\n" or "") .. "Content-Length: 7\r\n\r\npayload"))
                local raw = sock:receive("*a") or ""
                sock:close()
                local status, head, body = raw:match("^HTTP/1%.1 (%d+)[^\r]*\r\n(.-\r\n)\r\n(.*)$")
                if not status then
                    return "no response"
                end
                if head:lower():find("transfer-encoding: chunked", 1, true) then
                    local parts, pos = {}, 1
                    while true do
                        local size, at = body:match("^(%x+)\r\n()", pos)
                        if not size then
                            return status .. " truncated after " .. #table.concat(parts) .. " bytes"
                        end
                        size = tonumber(size, 16)
                        if size == 0 then
                            break
                        end
                        parts[#parts + 1] = body:sub(at, at + size - 1)
                        pos = at + size + 2
                    end
                    body = table.concat(parts)
                end
                return status .. " " .. (body:match("<title>(.-)</title>") or body:gsub("\n$", ""))
            end
            local pid = tostring(ngx.worker.pid())
            local before = fetch("/pid")
            ngx.say("failing: ", fetch("/t", true))
            ngx.say("next: ", fetch("/t", false))
            local after = fetch("/pid")
            ngx.say("same worker: ", before == "200 " .. pid and after == before)
        }
    }
--- request
GET /seq
--- response_body
failing: 200 truncated after 3 bytes
next: 200 abc
same worker: true
--- grep_error_log eval: qr/\[(?:error|alert|crit|emerg)\]|a fresh instance replaces the one that trapped|hostile(?:_as)?: (?:\w+ ran|failing in \w+|throwing in \w+)|lua: \w+ -> [^,]*/
--- grep_error_log_out
hostile: on_request_headers ran
hostile: on_request_body ran
hostile: on_response_headers ran
hostile: on_response_body ran
hostile: failing in on_response_body
[error]
a fresh instance replaces the one that trapped
hostile: on_request_headers ran
hostile: on_request_body ran
hostile: on_response_headers ran
hostile: on_response_body ran
hostile: on_done ran
hostile: on_log ran
--- error_log eval
qr/\[error\] .*wasm plugin "hostile": proxy_on_response_body failed: proxy_on_response_body trapped: wasm trap: wasm `unreachable` instruction executed[^,]*; failing the request \(proxy_wasm_failure closed\)/
--- no_error_log
[alert]
[crit]
[emerg]
exited on signal



=== TEST 12: a plugin that does not fail: every call true, every callback runs, no [error], [alert] or [crit]
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("hostile", "t/plugins/hostile.wasm"))
        package.loaded.plugin_ctx = assert(wasm.on_configure(plugin, '{}'))
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
    location = /t {
        access_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            local ctx = package.loaded.plugin_ctx
            local ok, err = wasm.on_http_request_headers(ctx)
            ngx.log(ngx.INFO, "lua: on_http_request_headers -> ", tostring(ok), " ", tostring(err))
            if not ok then
                return ngx.exit(500)
            end
            ngx.req.read_body()
            ok, err = wasm.on_http_request_body(ctx, ngx.req.get_body_data(), true)
            ngx.log(ngx.INFO, "lua: on_http_request_body -> ", tostring(ok), " ", tostring(err))
            if not ok then
                return ngx.exit(500)
            end
        }
        content_by_lua_block {
            ngx.say("upstream")
        }
        header_filter_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            local ok, err = wasm.on_http_response_headers(package.loaded.plugin_ctx)
            ngx.log(ngx.INFO, "lua: on_http_response_headers -> ", tostring(ok), " ", tostring(err))
        }
        body_filter_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            local ok, err = wasm.on_http_response_body(package.loaded.plugin_ctx)
            if not ngx.ctx.body_logged then
                ngx.ctx.body_logged = true
                ngx.log(ngx.INFO, "lua: on_http_response_body -> ", tostring(ok), " ", tostring(err))
            end
        }
    }
    location = /callee {
        return 200 "callee\n";
    }
    location = /pid {
        content_by_lua_block {
            ngx.print(ngx.worker.pid())
        }
    }
    location = /seq {
        content_by_lua_block {
            -- One HTTP/1.1 request on its own connection; what its client got: the status, then the page title
            -- or the (de-chunked) body, or "truncated" when a chunked body misses its last chunk.
            local function fetch(path, fail)
                local sock = ngx.socket.tcp()
                sock:settimeout(3000)
                assert(sock:connect("127.0.0.1", ngx.var.server_port))
                assert(sock:send("POST " .. path .. " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
                                 .. (fail and "X-Fail: 1\r\n" or "") .. "Content-Length: 7\r\n\r\npayload"))
                local raw = sock:receive("*a") or ""
                sock:close()
                local status, head, body = raw:match("^HTTP/1%.1 (%d+)[^\r]*\r\n(.-\r\n)\r\n(.*)$")
                if not status then
                    return "no response"
                end
                if head:lower():find("transfer-encoding: chunked", 1, true) then
                    local parts, pos = {}, 1
                    while true do
                        local size, at = body:match("^(%x+)\r\n()", pos)
                        if not size then
                            return status .. " truncated after " .. #table.concat(parts) .. " bytes"
                        end
                        size = tonumber(size, 16)
                        if size == 0 then
                            break
                        end
                        parts[#parts + 1] = body:sub(at, at + size - 1)
                        pos = at + size + 2
                    end
                    body = table.concat(parts)
                end
                return status .. " " .. (body:match("<title>(.-)</title>") or body:gsub("\n$", ""))
            end
            local pid = tostring(ngx.worker.pid())
            local before = fetch("/pid")
            ngx.say("failing: ", fetch("/t", true))
            ngx.say("next: ", fetch("/t", false))
            local after = fetch("/pid")
            ngx.say("same worker: ", before == "200 " .. pid and after == before)
        }
    }
--- request
GET /seq
--- response_body
failing: 200 upstream
next: 200 upstream
same worker: true
--- grep_error_log eval: qr/\[(?:error|alert|crit|emerg)\]|a fresh instance replaces the one that trapped|hostile(?:_as)?: (?:\w+ ran|failing in \w+|throwing in \w+)|lua: \w+ -> [^,]*/
--- grep_error_log_out
hostile: on_request_headers ran
lua: on_http_request_headers -> true nil
hostile: on_request_body ran
lua: on_http_request_body -> true nil
hostile: on_response_headers ran
lua: on_http_response_headers -> true nil
hostile: on_response_body ran
lua: on_http_response_body -> true nil
hostile: on_done ran
hostile: on_log ran
hostile: on_request_headers ran
lua: on_http_request_headers -> true nil
hostile: on_request_body ran
lua: on_http_request_body -> true nil
hostile: on_response_headers ran
lua: on_http_response_headers -> true nil
hostile: on_response_body ran
lua: on_http_response_body -> true nil
hostile: on_done ran
hostile: on_log ran
--- no_error_log
[error]
[alert]
[crit]
[emerg]
