# Failure policy (proxy_wasm_failure) and the response-body filter of the directive path.
use Test::Nginx::Socket 'no_plan';

log_level('info');
no_shuffle();
run_tests();

__DATA__

=== TEST 1: a plugin that traps fails the request closed by default: 500, and the log says which and why
--- http_config
    wasm_plugin trap html/trap.wat;
--- config
    location /t {
        proxy_wasm trap;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/upstream;
    }
    location = /upstream {
        return 200 "upstream\n";
    }
--- user_files
>>> trap.wat
(module
  (memory (export "memory") 1)
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_memory_allocate") (param i32) (result i32) i32.const 1024)
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32) unreachable))
--- request
GET /t
--- error_code: 500
--- error_log eval
qr/\[error\] .*wasm plugin "trap": proxy_on_request_headers failed: proxy_on_request_headers trapped: .*unreachable.*; failing the request \(proxy_wasm_failure closed\)/
--- no_error_log
[alert]
[crit]



=== TEST 2: with proxy_wasm_failure open the request goes on as if the plugin were absent
--- http_config
    wasm_plugin trap html/trap.wat;
--- config
    location /t {
        proxy_wasm_failure open;
        proxy_wasm trap;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/upstream;
    }
    location = /upstream {
        return 200 "upstream\n";
    }
--- user_files
>>> trap.wat
(module
  (memory (export "memory") 1)
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_memory_allocate") (param i32) (result i32) i32.const 1024)
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32) unreachable))
--- request
GET /t
--- error_code: 200
--- response_body
upstream
--- error_log eval
qr/\[error\] .*wasm plugin "trap": proxy_on_request_headers failed: .*; continuing without it \(proxy_wasm_failure open\)/
--- no_error_log
[alert]
[crit]



=== TEST 3: a response-body plugin replaces the body; Content-Length is dropped for the new length
--- http_config
    wasm_plugin rewrite html/rewrite.wat;
--- config
    location /t {
        proxy_wasm rewrite;
        return 200 "original body\n";
    }
--- user_files
>>> rewrite.wat
(module
  (import "env" "proxy_set_buffer_bytes" (func $set (param i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "replaced by wasm\n")
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_memory_allocate") (param i32) (result i32) i32.const 1024)
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_response_body") (param i32 i32 i32) (result i32)
    (if (local.get 2)
      (then (drop (call $set (i32.const 1) (i32.const 0) (local.get 1) (i32.const 16) (i32.const 17)))))
    i32.const 0))
--- request
GET /t
--- response_headers
Content-Length:
--- response_body
replaced by wasm
--- no_error_log
[error]
[alert]
[crit]



=== TEST 4: a response-body plugin sees static files too (nginx reads them into memory for it)
--- http_config
    wasm_plugin rewrite html/rewrite.wat;
--- config
    location /static {
        alias html/;
        proxy_wasm rewrite;
    }
--- user_files
>>> rewrite.wat
(module
  (import "env" "proxy_set_buffer_bytes" (func $set (param i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "appended\n")
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_memory_allocate") (param i32) (result i32) i32.const 1024)
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_response_body") (param i32 i32 i32) (result i32)
    (if (local.get 2)
      (then (drop (call $set (i32.const 1) (local.get 1) (i32.const 0) (i32.const 16) (i32.const 9)))))
    i32.const 0))
>>> file.txt
from a file
--- request
GET /static/file.txt
--- response_body
from a file
appended
--- no_error_log
[error]
[alert]
[crit]



=== TEST 5: an HTTP call from a response callback cannot be waited for: the plugin gets BadArgument at once (as on api7's host), with a log line; the response goes on
--- http_config
    wasm_plugin hostcalls ../../t/plugins/hostcalls.wasm;
--- config
    location /t {
        proxy_wasm hostcalls '{"on_response_headers": [{"op": "dispatch", "upstream": "127.0.0.1:1", "headers": [[":method", "GET"], [":path", "/"], [":authority", "x"]]}]}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/upstream;
    }
    location = /upstream {
        return 200 "upstream\n";
    }
--- request
GET /t
--- response_body
upstream
--- error_log
wasm plugin "hostcalls": proxy_http_call: HTTP calls cannot be dispatched from a response callback (the response cannot wait for them)
hostcalls: on_response_headers: dispatch 127.0.0.1:1 -> BadArgument
--- no_error_log
dropped
[alert]
[crit]
