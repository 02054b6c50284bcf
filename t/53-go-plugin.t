# A plugin in standard Go (t/plugins/go_plugin: Go 1.24, GOOS=wasip1) through the Lua API: Go's time.Sleep
# (WASI poll_oneoff, a clock subscription) sleeps as asked; a Go panic reaches the log with its own message,
# line by line, the call returns nil and the error, the worker lives on and the next call runs in a fresh
# instance. The directive entrance: t/directives/24-go-plugin.t.
use Test::Nginx::Socket::Lua 'no_plan';

log_level('info');
no_shuffle();
run_tests();

__DATA__

=== TEST 1: Lua: a Go time.Sleep in proxy_on_request_headers sleeps as long as asked; the call succeeds
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("go", "t/plugins/go_plugin.wasm"))
        package.loaded.ctx = assert(wasm.on_configure(plugin, "sleep"))
    }
--- config
    location /t {
        access_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            assert(wasm.on_http_request_headers(package.loaded.ctx))
        }
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up { return 200 "up\n"; }
--- request
GET /t
--- response_body
up
--- error_log
wasm plugin "go": go_plugin: slept 5 ms (at least that long passed)
--- no_error_log
[error]
[alert]
[crit]



=== TEST 2: Lua: a Go panic: its message reaches the log line by line, the call returns nil and the error; the worker lives on, the next call runs in a fresh instance
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("go", "t/plugins/go_plugin.wasm"))
        package.loaded.panic = assert(wasm.on_configure(plugin, "panic"))
        package.loaded.sleep = assert(wasm.on_configure(plugin, "sleep"))
    }
--- config
    location ~ ^/(panic|sleep)$ {
        access_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            local ok, err = wasm.on_http_request_headers(package.loaded[ngx.var.request_uri:sub(2)])
            if not ok then
                ngx.log(ngx.WARN, "lua: the call failed: ", err)
                return ngx.exit(503)
            end
        }
        rewrite ^ /up break;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT;
    }
    location = /up { return 200 "up\n"; }
    location = /pid { return 200 "$pid"; }
    location /t {
        content_by_lua_block {
            for _, path in ipairs({"/pid", "/panic", "/pid", "/sleep", "/pid"}) do
                local sock = ngx.socket.tcp()
                sock:settimeout(3000)
                assert(sock:connect("127.0.0.1", ngx.var.server_port))
                assert(sock:send("GET " .. path .. " HTTP/1.0\r\nHost: localhost\r\n\r\n"))
                local raw = sock:receive("*a") or ""
                local status = raw:match("^HTTP/1%.1 (%d+)") or "no answer"
                local body = raw:match("\r\n\r\n(.*)$") or ""
                if path == "/pid" then
                    body = body == tostring(ngx.worker.pid()) and "this worker" or "another worker " .. body
                end
                ngx.say(path, ": ", status, " ", body:match("[^\r\n]*"))
            end
        }
    }
--- request
GET /t
--- response_body
/pid: 200 this worker
/panic: 503 <html>
/pid: 200 this worker
/sleep: 200 up
/pid: 200 this worker
--- grep_error_log eval: qr/wasm plugin "go": (?:panic: [^,]*|goroutine 1 \[running\]:|go_plugin: slept[^,]*|proxy_on_request_headers failed: [^,]*|a fresh instance replaces the one that trapped)|lua: the call failed: [^,]*/
--- grep_error_log_out
wasm plugin "go": panic: go_plugin: the plugin's own panic message
wasm plugin "go": goroutine 1 [running]:
wasm plugin "go": proxy_on_request_headers failed: proxy_on_request_headers trapped: wasm trap: wasm `unreachable` instruction executed; the call fails
lua: the call failed: failed to run proxy_on_http_request_headers
wasm plugin "go": a fresh instance replaces the one that trapped
wasm plugin "go": go_plugin: slept 5 ms (at least that long passed)
--- no_error_log
fatal error
panic during panic
poll_oneoff
[alert]
[crit]
