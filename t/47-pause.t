# Pause means pause: a request callback that returns Pause with nothing pending (no HTTP call, no local
# response), as the SDK's postpone_requests does, holds the request until another callback (here a tick)
# continues it with proxy_continue_stream on its context, or closes it; a request never continued fails at the
# pause timeout per the failure policy. Both entrances. (A response header phase cannot be held: logged.)
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
