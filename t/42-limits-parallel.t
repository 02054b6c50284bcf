# An endless loop in a plugin does not wedge nginx: requests that spin are cut at the plugin's deadline and
# answered with the failure policy's status while requests to other locations, sent at the same time, all
# succeed. Two workers; a Lua client fires the requests concurrently over cosockets.
use Test::Nginx::Socket::Lua 'no_plan';

master_on();
workers(2);
log_level('info');
no_shuffle();
run_tests();

__DATA__

=== TEST 1: spinning requests answer 500 at the deadline, concurrent requests elsewhere answer 200
--- http_config
    wasm_plugin spin html/spin.wat time_limit=100ms;
--- config
    location /spin {
        proxy_wasm spin;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/upstream;
    }
    location /other {
        return 200 "still serving\n";
    }
    location = /upstream {
        return 200 "upstream\n";
    }
    location /t {
        content_by_lua_block {
            local function get(path)
                local sock = ngx.socket.tcp()
                sock:settimeout(5000)
                assert(sock:connect("127.0.0.1", ngx.var.server_port))
                assert(sock:send("GET " .. path .. " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"))
                local status = sock:receive("*l")
                sock:close()
                return path .. " " .. (status and status:match("^HTTP/1%.1 (%d+)") or "no answer")
            end
            local threads = {}
            for i = 1, 16 do
                threads[i] = ngx.thread.spawn(get, i % 4 == 1 and "/spin" or "/other")
            end
            local counts = {}
            for i = 1, #threads do
                local _, line = ngx.thread.wait(threads[i])
                counts[line] = (counts[line] or 0) + 1
            end
            for _, line in ipairs({"/spin 500", "/other 200"}) do
                ngx.say(line, ": ", counts[line] or 0)
            end
        }
    }
--- user_files
>>> spin.wat
(module
  (memory (export "memory") 1)
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_memory_allocate") (param i32) (result i32) i32.const 1024)
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
    (loop $forever (br $forever))
    i32.const 0))
--- request
GET /t
--- response_body
/spin 500: 4
/other 200: 12
--- timeout: 10
--- error_log eval
qr/wasm plugin "spin": proxy_on_request_headers failed: proxy_on_request_headers trapped: interrupted: ran past its time limit of 100 ms/
--- no_error_log
[alert]
[crit]
