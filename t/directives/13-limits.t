# Untrusted plugins: an endless loop is interrupted at the plugin's deadline, a memory bomb stops at its cap,
# and the worker keeps serving with a fresh instance.
use Test::Nginx::Socket 'no_plan';

log_level('info');
no_shuffle();
run_tests();

__DATA__

=== TEST 1: an endless loop in on_request_headers answers 500 within the deadline, each time
--- http_config
    wasm_plugin spin html/spin.wat time_limit=20ms;
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
--- request eval
["GET /spin", "GET /spin"]
--- error_code eval
[500, 500]
--- response_body_like eval
["500 Internal Server Error", "500 Internal Server Error"]
--- timeout: 2
--- grep_error_log eval: qr/wasm plugin "spin": proxy_on_request_headers failed: [^;]+/
--- grep_error_log_out eval
qr/\Awasm plugin "spin": proxy_on_request_headers failed: proxy_on_request_headers trapped: interrupted: ran past its time limit of 20 ms/
--- no_error_log
[alert]
[crit]



=== TEST 2: after a plugin was interrupted at its deadline the worker serves on
--- http_config
    wasm_plugin spin html/spin.wat time_limit=20ms;
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
--- request eval
["GET /spin", "GET /other"]
--- error_code eval
[500, 200]
--- response_body_like eval
["500 Internal Server Error", "still serving"]
--- timeout: 2
--- no_error_log
[alert]
[crit]



=== TEST 3: a memory bomb stops at memory_limit with a trap; the next request gets a fresh instance
--- http_config
    wasm_plugin bomb html/bomb.wat memory_limit=1m;
--- config
    location /t {
        proxy_wasm_failure open;
        proxy_wasm bomb;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/upstream;
    }
    location = /upstream {
        return 200 "upstream\n";
    }
--- user_files
>>> bomb.wat
(module
  (memory (export "memory") 1)
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_memory_allocate") (param i32) (result i32) i32.const 1024)
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
    (loop $grow (br_if $grow (i32.ne (memory.grow (i32.const 1)) (i32.const -1))))
    i32.const 0))
--- request eval
["GET /t", "GET /t"]
--- response_body eval
["upstream\n", "upstream\n"]
--- error_log eval
[qr/wasm plugin "bomb": proxy_on_request_headers failed: proxy_on_request_headers trapped: .*memory.*continuing without it/,
 qr/wasm plugin "bomb": proxy_on_request_headers failed: proxy_on_request_headers trapped: .*memory.*continuing without it/]
--- no_error_log
[alert]
[crit]



=== TEST 4: a leaky plugin keeps its instance while its memory stays under 75% of its limit
--- http_config
    wasm_plugin leaky html/leaky.wat memory_limit=1m;
--- config
    location /t {
        proxy_wasm leaky;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/upstream;
    }
    location = /upstream {
        return 200 "upstream\n";
    }
--- user_files
>>> leaky.wat
(module
  (memory (export "memory") 1)
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_memory_allocate") (param i32) (result i32) i32.const 1024)
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
    (if (i32.eq (memory.grow (i32.const 4)) (i32.const -1)) (then unreachable))
    i32.const 0))
--- request eval
["GET /t", "GET /t"]
--- response_body eval
["upstream\n", "upstream\n"]
--- grep_error_log eval: qr/wasm plugin "leaky": instance recycled: [^,]*?(?= while)/
--- grep_error_log_out
--- no_error_log
[error]
[alert]
[crit]



=== TEST 5: past 75% of its limit a leaky plugin is recycled before its cap: every request is served, the log says when
--- http_config
    wasm_plugin leaky html/leaky.wat memory_limit=400k;
--- config
    location /t {
        proxy_wasm leaky;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/upstream;
    }
    location = /upstream {
        return 200 "upstream\n";
    }
--- user_files
>>> leaky.wat
(module
  (memory (export "memory") 1)
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_memory_allocate") (param i32) (result i32) i32.const 1024)
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
    (if (i32.eq (memory.grow (i32.const 4)) (i32.const -1)) (then unreachable))
    i32.const 0))
--- request eval
[("GET /t") x 12]
--- response_body eval
[("upstream\n") x 12]
--- grep_error_log eval: qr/wasm plugin "leaky": instance recycled: [^,]*?(?= while)/
--- grep_error_log_out
wasm plugin "leaky": instance recycled: its memory grew to 320 KiB (past 75% of its limit); the next request gets a fresh instance
--- no_error_log
[error]
[alert]
[crit]



=== TEST 6: bad limits are refused at configuration time
--- http_config
    wasm_plugin fault_injection ../../t/plugins/fault_injection.wasm time_limit=soon;
--- config
    location /t { return 200; }
--- must_die
