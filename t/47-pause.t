# Pause means pause: a request callback that returns Pause with nothing pending (no HTTP call, no local
# response), as the SDK's postpone_requests does, holds the request until another callback (here a tick)
# continues it with proxy_continue_stream on its context, or closes it; a request never continued fails at the
# pause timeout per the failure policy. Both entrances. A response paused in proxy_on_response_headers is held
# the same way on the directive path (Lua's header filter cannot hold it: logged, the response goes on).
use Test::Nginx::Socket::Lua 'no_plan';

log_level('info');
no_shuffle();
run_tests();

__DATA__

=== TEST 1: directives: a request paused with nothing pending waits until a tick continues it
--- http_config
    wasm_plugin postpone html/continue.wat;
--- config
    location /directive {
        proxy_wasm postpone;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location /t {
        content_by_lua_block {
            for _, path in ipairs({"/directive"}) do
                local sock = ngx.socket.tcp()
                sock:settimeout(3000)
                assert(sock:connect("127.0.0.1", ngx.var.server_port))
                assert(sock:send("GET " .. path .. " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"))
                local raw, err = sock:receive("*a")
                raw = raw or ""
                local status = raw:match("^HTTP/1%.1 (%d+)") or "no answer"
                local body = raw:match("\r\n\r\n(.*)$") or ""
                ngx.say(path, ": ", status, " ", body:match("[^\r\n]*"))
            end
        }
    }
    location = /up { return 200 "from upstream\n"; }
--- user_files
>>> continue.wat
(module
  (import "env" "proxy_set_tick_period_milliseconds" (func $tick (param i32) (result i32)))
  (import "env" "proxy_set_effective_context" (func $effective (param i32) (result i32)))
  (import "env" "proxy_continue_stream" (func $continue (param i32) (result i32)))
  (import "env" "proxy_close_stream" (func $close (param i32) (result i32)))
  (import "env" "proxy_log" (func $log (param i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "paused the request")
  (data (i32.const 32) "the tick acts on the paused request")
  (data (i32.const 80) "response headers")
  (global $waiting (mut i32) (i32.const 0))
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_memory_allocate") (param i32) (result i32) i32.const 1024)
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_configure") (param i32 i32) (result i32)
    (drop (call $tick (i32.const 50)))
    i32.const 1)
  ;; as the SDK's postpone_requests: every request waits for the next tick
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
    (global.set $waiting (local.get 0))
    (drop (call $log (i32.const 2) (i32.const 0) (i32.const 18)))
    i32.const 1)
  (func (export "proxy_on_response_headers") (param i32 i32 i32) (result i32)
    (drop (call $log (i32.const 2) (i32.const 80) (i32.const 16)))
    i32.const 0)
  (func (export "proxy_on_tick") (param i32)
    (if (i32.eqz (global.get $waiting)) (then (return)))
    (drop (call $effective (global.get $waiting)))
    (drop (call $log (i32.const 2) (i32.const 32) (i32.const 35)))
    (drop (call $continue (i32.const 0)))
    (global.set $waiting (i32.const 0))))
--- request
GET /t
--- response_body
/directive: 200 from upstream
--- grep_error_log eval: qr/paused the request|the tick acts on the paused request|response headers|not continued within \d+ ms[^,]*|the plugin closed the paused stream|not continued in time[^,]*/
--- grep_error_log_out
paused the request
the tick acts on the paused request
response headers
--- no_error_log
[error]
[alert]
[crit]



=== TEST 2: directives: a paused request a tick closes is dropped without an answer
--- http_config
    wasm_plugin postpone html/close.wat;
--- config
    location /directive {
        proxy_wasm postpone;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location /t {
        content_by_lua_block {
            for _, path in ipairs({"/directive"}) do
                local sock = ngx.socket.tcp()
                sock:settimeout(3000)
                assert(sock:connect("127.0.0.1", ngx.var.server_port))
                assert(sock:send("GET " .. path .. " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"))
                local raw, err = sock:receive("*a")
                raw = raw or ""
                local status = raw:match("^HTTP/1%.1 (%d+)") or "no answer"
                local body = raw:match("\r\n\r\n(.*)$") or ""
                ngx.say(path, ": ", status, " ", body:match("[^\r\n]*"))
            end
        }
    }
    location = /up { return 200 "from upstream\n"; }
--- user_files
>>> close.wat
(module
  (import "env" "proxy_set_tick_period_milliseconds" (func $tick (param i32) (result i32)))
  (import "env" "proxy_set_effective_context" (func $effective (param i32) (result i32)))
  (import "env" "proxy_continue_stream" (func $continue (param i32) (result i32)))
  (import "env" "proxy_close_stream" (func $close (param i32) (result i32)))
  (import "env" "proxy_log" (func $log (param i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "paused the request")
  (data (i32.const 32) "the tick acts on the paused request")
  (data (i32.const 80) "response headers")
  (global $waiting (mut i32) (i32.const 0))
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_memory_allocate") (param i32) (result i32) i32.const 1024)
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_configure") (param i32 i32) (result i32)
    (drop (call $tick (i32.const 50)))
    i32.const 1)
  ;; as the SDK's postpone_requests: every request waits for the next tick
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
    (global.set $waiting (local.get 0))
    (drop (call $log (i32.const 2) (i32.const 0) (i32.const 18)))
    i32.const 1)
  (func (export "proxy_on_response_headers") (param i32 i32 i32) (result i32)
    (drop (call $log (i32.const 2) (i32.const 80) (i32.const 16)))
    i32.const 0)
  (func (export "proxy_on_tick") (param i32)
    (if (i32.eqz (global.get $waiting)) (then (return)))
    (drop (call $effective (global.get $waiting)))
    (drop (call $log (i32.const 2) (i32.const 32) (i32.const 35)))
    (drop (call $close (i32.const 0)))
    (global.set $waiting (i32.const 0))))
--- request
GET /t
--- response_body
/directive: no answer 
--- grep_error_log eval: qr/paused the request|the tick acts on the paused request|response headers|not continued within \d+ ms[^,]*|the plugin closed the paused stream|not continued in time[^,]*/
--- grep_error_log_out
paused the request
the tick acts on the paused request
the plugin closed the paused stream
--- no_error_log
[error]
[alert]
[crit]



=== TEST 3: directives: a paused request never continued fails at proxy_wasm_pause_timeout, closed (500) and open (the upstream)
--- http_config
    wasm_plugin postpone html/never.wat;
--- config
    location /closed {
        proxy_wasm postpone;
        proxy_wasm_pause_timeout 200ms;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location /open {
        proxy_wasm postpone;
        proxy_wasm_pause_timeout 200ms;
        proxy_wasm_failure open;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location /t {
        content_by_lua_block {
            for _, path in ipairs({"/closed", "/open"}) do
                local sock = ngx.socket.tcp()
                sock:settimeout(3000)
                assert(sock:connect("127.0.0.1", ngx.var.server_port))
                assert(sock:send("GET " .. path .. " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"))
                local raw, err = sock:receive("*a")
                raw = raw or ""
                local status = raw:match("^HTTP/1%.1 (%d+)") or "no answer"
                local body = raw:match("\r\n\r\n(.*)$") or ""
                ngx.say(path, ": ", status, " ", body:match("[^\r\n]*"))
            end
        }
    }
    location = /up { return 200 "from upstream\n"; }
--- user_files
>>> never.wat
(module
  (import "env" "proxy_set_tick_period_milliseconds" (func $tick (param i32) (result i32)))
  (import "env" "proxy_set_effective_context" (func $effective (param i32) (result i32)))
  (import "env" "proxy_continue_stream" (func $continue (param i32) (result i32)))
  (import "env" "proxy_close_stream" (func $close (param i32) (result i32)))
  (import "env" "proxy_log" (func $log (param i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "paused the request")
  (data (i32.const 32) "the tick acts on the paused request")
  (data (i32.const 80) "response headers")
  (global $waiting (mut i32) (i32.const 0))
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_memory_allocate") (param i32) (result i32) i32.const 1024)
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_configure") (param i32 i32) (result i32)
    (drop (call $tick (i32.const 50)))
    i32.const 1)
  ;; as the SDK's postpone_requests: every request waits for the next tick
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
    (global.set $waiting (local.get 0))
    (drop (call $log (i32.const 2) (i32.const 0) (i32.const 18)))
    i32.const 1)
  (func (export "proxy_on_response_headers") (param i32 i32 i32) (result i32)
    (drop (call $log (i32.const 2) (i32.const 80) (i32.const 16)))
    i32.const 0)
  (func (export "proxy_on_tick") (param i32)
    (if (i32.eqz (global.get $waiting)) (then (return)))
    (drop (call $effective (global.get $waiting)))
    
    (global.set $waiting (i32.const 0))))
--- request
GET /t
--- response_body
/closed: 500 <html>
/open: 200 from upstream
--- grep_error_log eval: qr/paused the request|the tick acts on the paused request|response headers|not continued within \d+ ms[^,]*|the plugin closed the paused stream|not continued in time[^,]*/
--- grep_error_log_out
paused the request
not continued within 200 ms (proxy_wasm_pause_timeout); failing the request (proxy_wasm_failure closed)
paused the request
not continued within 200 ms (proxy_wasm_pause_timeout); continuing without it (proxy_wasm_failure open)
--- no_error_log
[alert]
[crit]



=== TEST 4: Lua: a request paused with nothing pending waits until a tick continues it
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("postpone", ngx.config.prefix() .. "html/continue.wat"))
        package.loaded.ctx = assert(wasm.on_configure(plugin, "{}"))
    }
--- config
    location /lua {
        access_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            wasm.pause_timeout = 0.2
            local ok, err = wasm.on_http_request_headers(package.loaded.ctx)
            if not ok then
                ngx.log(ngx.WARN, "lua: ", err)
                return ngx.exit(503)
            end
        }
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location /t {
        content_by_lua_block {
            for _, path in ipairs({"/lua"}) do
                local sock = ngx.socket.tcp()
                sock:settimeout(3000)
                assert(sock:connect("127.0.0.1", ngx.var.server_port))
                assert(sock:send("GET " .. path .. " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"))
                local raw, err = sock:receive("*a")
                raw = raw or ""
                local status = raw:match("^HTTP/1%.1 (%d+)") or "no answer"
                local body = raw:match("\r\n\r\n(.*)$") or ""
                ngx.say(path, ": ", status, " ", body:match("[^\r\n]*"))
            end
        }
    }
    location = /up { return 200 "from upstream\n"; }
--- user_files
>>> continue.wat
(module
  (import "env" "proxy_set_tick_period_milliseconds" (func $tick (param i32) (result i32)))
  (import "env" "proxy_set_effective_context" (func $effective (param i32) (result i32)))
  (import "env" "proxy_continue_stream" (func $continue (param i32) (result i32)))
  (import "env" "proxy_close_stream" (func $close (param i32) (result i32)))
  (import "env" "proxy_log" (func $log (param i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "paused the request")
  (data (i32.const 32) "the tick acts on the paused request")
  (data (i32.const 80) "response headers")
  (global $waiting (mut i32) (i32.const 0))
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_memory_allocate") (param i32) (result i32) i32.const 1024)
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_configure") (param i32 i32) (result i32)
    (drop (call $tick (i32.const 50)))
    i32.const 1)
  ;; as the SDK's postpone_requests: every request waits for the next tick
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
    (global.set $waiting (local.get 0))
    (drop (call $log (i32.const 2) (i32.const 0) (i32.const 18)))
    i32.const 1)
  (func (export "proxy_on_response_headers") (param i32 i32 i32) (result i32)
    (drop (call $log (i32.const 2) (i32.const 80) (i32.const 16)))
    i32.const 0)
  (func (export "proxy_on_tick") (param i32)
    (if (i32.eqz (global.get $waiting)) (then (return)))
    (drop (call $effective (global.get $waiting)))
    (drop (call $log (i32.const 2) (i32.const 32) (i32.const 35)))
    (drop (call $continue (i32.const 0)))
    (global.set $waiting (i32.const 0))))
--- request
GET /t
--- response_body
/lua: 200 from upstream
--- grep_error_log eval: qr/paused the request|the tick acts on the paused request|response headers|not continued within \d+ ms[^,]*|the plugin closed the paused stream|not continued in time[^,]*/
--- grep_error_log_out
paused the request
the tick acts on the paused request
--- no_error_log
[error]
[alert]
[crit]



=== TEST 5: Lua: a paused request a tick closes is dropped without an answer
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("postpone", ngx.config.prefix() .. "html/close.wat"))
        package.loaded.ctx = assert(wasm.on_configure(plugin, "{}"))
    }
--- config
    location /lua {
        access_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            wasm.pause_timeout = 0.2
            local ok, err = wasm.on_http_request_headers(package.loaded.ctx)
            if not ok then
                ngx.log(ngx.WARN, "lua: ", err)
                return ngx.exit(503)
            end
        }
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location /t {
        content_by_lua_block {
            for _, path in ipairs({"/lua"}) do
                local sock = ngx.socket.tcp()
                sock:settimeout(3000)
                assert(sock:connect("127.0.0.1", ngx.var.server_port))
                assert(sock:send("GET " .. path .. " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"))
                local raw, err = sock:receive("*a")
                raw = raw or ""
                local status = raw:match("^HTTP/1%.1 (%d+)") or "no answer"
                local body = raw:match("\r\n\r\n(.*)$") or ""
                ngx.say(path, ": ", status, " ", body:match("[^\r\n]*"))
            end
        }
    }
    location = /up { return 200 "from upstream\n"; }
--- user_files
>>> close.wat
(module
  (import "env" "proxy_set_tick_period_milliseconds" (func $tick (param i32) (result i32)))
  (import "env" "proxy_set_effective_context" (func $effective (param i32) (result i32)))
  (import "env" "proxy_continue_stream" (func $continue (param i32) (result i32)))
  (import "env" "proxy_close_stream" (func $close (param i32) (result i32)))
  (import "env" "proxy_log" (func $log (param i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "paused the request")
  (data (i32.const 32) "the tick acts on the paused request")
  (data (i32.const 80) "response headers")
  (global $waiting (mut i32) (i32.const 0))
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_memory_allocate") (param i32) (result i32) i32.const 1024)
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_configure") (param i32 i32) (result i32)
    (drop (call $tick (i32.const 50)))
    i32.const 1)
  ;; as the SDK's postpone_requests: every request waits for the next tick
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
    (global.set $waiting (local.get 0))
    (drop (call $log (i32.const 2) (i32.const 0) (i32.const 18)))
    i32.const 1)
  (func (export "proxy_on_response_headers") (param i32 i32 i32) (result i32)
    (drop (call $log (i32.const 2) (i32.const 80) (i32.const 16)))
    i32.const 0)
  (func (export "proxy_on_tick") (param i32)
    (if (i32.eqz (global.get $waiting)) (then (return)))
    (drop (call $effective (global.get $waiting)))
    (drop (call $log (i32.const 2) (i32.const 32) (i32.const 35)))
    (drop (call $close (i32.const 0)))
    (global.set $waiting (i32.const 0))))
--- request
GET /t
--- response_body
/lua: no answer 
--- grep_error_log eval: qr/paused the request|the tick acts on the paused request|response headers|not continued within \d+ ms[^,]*|the plugin closed the paused stream|not continued in time[^,]*/
--- grep_error_log_out
paused the request
the tick acts on the paused request
--- no_error_log
[error]
[alert]
[crit]



=== TEST 6: Lua: a paused request never continued fails the call at wasm.pause_timeout
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("postpone", ngx.config.prefix() .. "html/never.wat"))
        package.loaded.ctx = assert(wasm.on_configure(plugin, "{}"))
    }
--- config
    location /lua {
        access_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            wasm.pause_timeout = 0.2
            local ok, err = wasm.on_http_request_headers(package.loaded.ctx)
            if not ok then
                ngx.log(ngx.WARN, "lua: ", err)
                return ngx.exit(503)
            end
        }
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location /t {
        content_by_lua_block {
            for _, path in ipairs({"/lua"}) do
                local sock = ngx.socket.tcp()
                sock:settimeout(3000)
                assert(sock:connect("127.0.0.1", ngx.var.server_port))
                assert(sock:send("GET " .. path .. " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"))
                local raw, err = sock:receive("*a")
                raw = raw or ""
                local status = raw:match("^HTTP/1%.1 (%d+)") or "no answer"
                local body = raw:match("\r\n\r\n(.*)$") or ""
                ngx.say(path, ": ", status, " ", body:match("[^\r\n]*"))
            end
        }
    }
    location = /up { return 200 "from upstream\n"; }
--- user_files
>>> never.wat
(module
  (import "env" "proxy_set_tick_period_milliseconds" (func $tick (param i32) (result i32)))
  (import "env" "proxy_set_effective_context" (func $effective (param i32) (result i32)))
  (import "env" "proxy_continue_stream" (func $continue (param i32) (result i32)))
  (import "env" "proxy_close_stream" (func $close (param i32) (result i32)))
  (import "env" "proxy_log" (func $log (param i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "paused the request")
  (data (i32.const 32) "the tick acts on the paused request")
  (data (i32.const 80) "response headers")
  (global $waiting (mut i32) (i32.const 0))
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_memory_allocate") (param i32) (result i32) i32.const 1024)
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_configure") (param i32 i32) (result i32)
    (drop (call $tick (i32.const 50)))
    i32.const 1)
  ;; as the SDK's postpone_requests: every request waits for the next tick
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
    (global.set $waiting (local.get 0))
    (drop (call $log (i32.const 2) (i32.const 0) (i32.const 18)))
    i32.const 1)
  (func (export "proxy_on_response_headers") (param i32 i32 i32) (result i32)
    (drop (call $log (i32.const 2) (i32.const 80) (i32.const 16)))
    i32.const 0)
  (func (export "proxy_on_tick") (param i32)
    (if (i32.eqz (global.get $waiting)) (then (return)))
    (drop (call $effective (global.get $waiting)))
    
    (global.set $waiting (i32.const 0))))
--- request
GET /t
--- response_body
/lua: 503 <html>
--- grep_error_log eval: qr/paused the request|the tick acts on the paused request|response headers|not continued within \d+ ms[^,]*|the plugin closed the paused stream|not continued in time[^,]*/
--- grep_error_log_out
paused the request
not continued in time; the call fails
--- error_log
lua: failed to run proxy_on_http_request_headers
--- no_error_log
[alert]
[crit]



=== TEST 7: directives: a response paused in proxy_on_response_headers is held (nothing reaches the client) while the worker serves others, until another request's callback continues it; the rest of the chain runs then
--- http_config
    lua_socket_log_errors off;
    wasm_plugin hostcalls ../../t/plugins/hostcalls.wasm;
--- config
    location /held {
        proxy_wasm hostcalls '{"on_response_headers": [{"op": "add", "map": "response_headers", "key": "x-paused", "value": "yes"}, {"op": "postpone"}, {"op": "return", "action": "pause"}]}';
        proxy_wasm hostcalls '{"on_response_headers": [{"op": "log", "msg": "second plugin after the pause"}, {"op": "add", "map": "response_headers", "key": "x-after", "value": "second"}]}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location /resume {
        proxy_wasm hostcalls '{"on_request_headers": [{"op": "resume_postponed", "stream": 1}]}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location /fast {
        return 200 "fast\n";
    }
    location /t {
        content_by_lua_block {
            local function open(path)
                local sock = ngx.socket.tcp()
                sock:settimeout(3000)
                assert(sock:connect("127.0.0.1", ngx.var.server_port))
                assert(sock:send("GET " .. path .. " HTTP/1.0\r\nHost: localhost\r\n\r\n"))
                return sock
            end
            local function answer(sock)
                local raw = sock:receive("*a") or ""
                local status = raw:match("^HTTP/1%.1 (%d+)") or "no answer"
                local body = raw:match("\r\n\r\n(.*)$") or ""
                local paused = raw:match("\r\n[Xx]%-[Pp]aused: ([^\r]*)") or "-"
                local after = raw:match("\r\n[Xx]%-[Aa]fter: ([^\r]*)") or "-"
                return status .. " x-paused=" .. paused .. " x-after=" .. after .. " " .. (body:match("[^\r\n]*"))
            end
            local held = open("/held")
            ngx.sleep(0.3)
            held:settimeout(200)
            local data, err, partial = held:receive(1)
            ngx.say("/held while paused: ", data or err, ", ", #(partial or ""), " bytes")
            held:settimeout(3000)
            ngx.say("/fast: ", answer(open("/fast")))
            ngx.say("/resume: ", answer(open("/resume")))
            ngx.say("/held: ", answer(held))
        }
    }
    location = /up { return 200 "from upstream\n"; }
--- request
GET /t
--- response_body
/held while paused: timeout, 0 bytes
/fast: 200 x-paused=- x-after=- fast
/resume: 200 x-paused=- x-after=- from upstream
/held: 200 x-paused=yes x-after=second from upstream
--- grep_error_log eval: qr/hostcalls: \w+: (?:postpone|resume -> [^,\n]*|second plugin after the pause)|response it paused was not continued[^,]*|the plugin closed the paused response/
--- grep_error_log_out
hostcalls: on_response_headers: postpone
hostcalls: on_request_headers: resume -> Ok(()) Ok(())
hostcalls: on_response_headers: second plugin after the pause
--- no_error_log
[error]
[alert]
[crit]



=== TEST 8: directives: a tick continues held responses, twice on one keepalive connection; a 300000-byte static file held whole reaches the body callback and the client intact
--- http_config
    wasm_plugin hostcalls ../../t/plugins/hostcalls.wasm;
--- config
    location /held/ {
        proxy_wasm hostcalls '{"tick_period_ms": 50, "on_response_headers": [{"op": "postpone"}, {"op": "return", "action": "pause"}], "on_tick": [{"op": "resume_postponed", "stream": 1}]}';
        alias html/;
    }
    location /t {
        content_by_lua_block {
            local sock = ngx.socket.tcp()
            sock:settimeout(3000)
            assert(sock:connect("127.0.0.1", ngx.var.server_port))
            for i = 1, 2 do
                assert(sock:send("GET /held/big.txt HTTP/1.1\r\nHost: localhost\r\n\r\n"))
                local status = assert(sock:receive("*l")):match("^HTTP/1%.1 (%d+)")
                local headers = {}
                while true do
                    local line = assert(sock:receive("*l"))
                    if line == "" then break end
                    local k, v = line:match("^([^:]+):%s*(.*)$")
                    headers[k:lower()] = v
                end
                local parts = {}
                if headers["transfer-encoding"] == "chunked" then
                    while true do
                        local size = tonumber(assert(sock:receive("*l")), 16)
                        if size == 0 then
                            assert(sock:receive("*l"))
                            break
                        end
                        parts[#parts + 1] = assert(sock:receive(size))
                        assert(sock:receive("*l"))
                    end
                else
                    parts[1] = assert(sock:receive(tonumber(headers["content-length"])))
                end
                local body = table.concat(parts)
                ngx.say(i, ": ", status, " ", #body, " bytes, ", body == string.rep("x", 300000) and "intact" or "changed")
            end
        }
    }
--- user_files eval
">>> big.txt\n" . ("x" x 300000)
--- request
GET /t
--- response_body
1: 200 300000 bytes, intact
2: 200 300000 bytes, intact
--- grep_error_log eval: qr/hostcalls: \w+: (?:postpone|resume -> [^,\n]*)|hostcalls: on_response_body body_size=\d+ end_of_stream=\w+|response it paused was not continued[^,]*/
--- grep_error_log_out
hostcalls: on_response_headers: postpone
hostcalls: on_tick: resume -> Ok(()) Ok(())
hostcalls: on_response_body body_size=300000 end_of_stream=true
hostcalls: on_response_headers: postpone
hostcalls: on_tick: resume -> Ok(()) Ok(())
hostcalls: on_response_body body_size=300000 end_of_stream=true
--- no_error_log
[error]
[alert]
[crit]



=== TEST 9: directives: a held response never continued fails at proxy_wasm_pause_timeout, closed (500) and open (the response goes on); the worker lives on
--- http_config
    wasm_plugin hostcalls ../../t/plugins/hostcalls.wasm;
--- config
    location /closed {
        proxy_wasm hostcalls '{"on_response_headers": [{"op": "postpone"}, {"op": "return", "action": "pause"}]}';
        proxy_wasm_pause_timeout 200ms;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location /open {
        proxy_wasm hostcalls '{"on_response_headers": [{"op": "postpone"}, {"op": "return", "action": "pause"}]}';
        proxy_wasm_pause_timeout 200ms;
        proxy_wasm_failure open;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /pid { return 200 "$pid"; }
    location /t {
        content_by_lua_block {
            for _, path in ipairs({"/pid", "/closed", "/open", "/pid"}) do
                local sock = ngx.socket.tcp()
                sock:settimeout(3000)
                assert(sock:connect("127.0.0.1", ngx.var.server_port))
                assert(sock:send("GET " .. path .. " HTTP/1.0\r\nHost: localhost\r\n\r\n"))
                local raw, err = sock:receive("*a")
                raw = raw or ""
                local status = raw:match("^HTTP/1%.1 (%d+)") or "no answer"
                local body = raw:match("\r\n\r\n(.*)$") or ""
                if path == "/pid" then
                    body = body == tostring(ngx.worker.pid()) and "this worker" or "another worker " .. body
                end
                ngx.say(path, ": ", status, " ", body:match("[^\r\n]*"))
            end
        }
    }
    location = /up { return 200 "from upstream\n"; }
--- request
GET /t
--- response_body
/pid: 200 this worker
/closed: 500 <html>
/open: 200 from upstream
/pid: 200 this worker
--- grep_error_log eval: qr/hostcalls: \w+: postpone|response it paused was not continued within \d+ ms \(proxy_wasm_pause_timeout\); [^(]*\([^)]*\)|the plugin closed the paused response/
--- grep_error_log_out
hostcalls: on_response_headers: postpone
response it paused was not continued within 200 ms (proxy_wasm_pause_timeout); failing the request (proxy_wasm_failure closed)
hostcalls: on_response_headers: postpone
response it paused was not continued within 200 ms (proxy_wasm_pause_timeout); continuing without it (proxy_wasm_failure open)
--- no_error_log
[alert]
[crit]



=== TEST 10: directives: a held response a tick closes is aborted: the client gets no answer
--- http_config
    wasm_plugin hostcalls ../../t/plugins/hostcalls.wasm;
--- config
    location /held {
        proxy_wasm hostcalls '{"tick_period_ms": 50, "on_response_headers": [{"op": "postpone"}, {"op": "return", "action": "pause"}], "on_tick": [{"op": "resume_postponed", "stream": 1, "close": true}]}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location /t {
        content_by_lua_block {
            local sock = ngx.socket.tcp()
            sock:settimeout(3000)
            assert(sock:connect("127.0.0.1", ngx.var.server_port))
            assert(sock:send("GET /held HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"))
            local raw, err = sock:receive("*a")
            raw = raw or ""
            ngx.say("/held: ", raw:match("^HTTP/1%.1 (%d+)") or "no answer", ", ", #raw, " bytes")
        }
    }
    location = /up { return 200 "from upstream\n"; }
--- request
GET /t
--- response_body
/held: no answer, 0 bytes
--- grep_error_log eval: qr/hostcalls: \w+: (?:postpone|close -> [^,\n]*)|response it paused was not continued[^,]*|the plugin closed the paused response/
--- grep_error_log_out
hostcalls: on_response_headers: postpone
hostcalls: on_tick: close -> Ok(()) Ok
the plugin closed the paused response
--- no_error_log
[error]
[alert]
[crit]



=== TEST 11: Lua: Pause from proxy_on_response_headers cannot hold the response in Lua's header filter: logged, the response goes on
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("hostcalls", "t/plugins/hostcalls.wasm"))
        package.loaded.ctx = assert(wasm.on_configure(plugin, '{"on_response_headers": [{"op": "postpone"}, {"op": "return", "action": "pause"}]}'))
    }
--- config
    location /t {
        access_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            assert(wasm.on_http_request_headers(package.loaded.ctx))
        }
        header_filter_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            assert(wasm.on_http_response_headers(package.loaded.ctx))
        }
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up { return 200 "from upstream\n"; }
--- request
GET /t
--- response_body
from upstream
--- grep_error_log eval: qr/hostcalls: \w+: postpone|proxy_on_response_headers returned Pause: a response cannot be held in Lua's header filter; continuing/
--- grep_error_log_out
hostcalls: on_response_headers: postpone
proxy_on_response_headers returned Pause: a response cannot be held in Lua's header filter; continuing
--- no_error_log
[error]
[alert]
[crit]
