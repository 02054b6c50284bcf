# The directive path reads the request body for plugins that export proxy_on_request_body, without blocking
# the worker, and hands the (possibly rewritten) body on; a plugin may also answer from the body callback.
use Test::Nginx::Socket::Lua 'no_plan';

log_level('info');
no_shuffle();
run_tests();

__DATA__

=== TEST 1: the plugin prepends to the body; the upstream receives the new body and length
--- http_config
    wasm_plugin body html/body.wat;
--- config
    location /t {
        proxy_wasm body;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/echo;
    }
    location = /echo {
        content_by_lua_block {
            ngx.req.read_body()
            ngx.say(ngx.var.http_content_length, " ", ngx.req.get_body_data())
        }
    }
--- user_files
>>> body.wat
(module
  (import "env" "proxy_set_buffer_bytes" (func $set (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_send_local_response" (func $send (param i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "wasm saw: ")
  (data (i32.const 32) "too big\n")
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_memory_allocate") (param i32) (result i32) i32.const 1024)
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_request_body") (param i32 i32 i32) (result i32)
    (if (i32.gt_u (local.get 1) (i32.const 100))
      (then
        (drop (call $send (i32.const 413) (i32.const 0) (i32.const 0) (i32.const 32) (i32.const 8)
                          (i32.const 0) (i32.const 0) (i32.const -1)))
        (return (i32.const 1))))
    (drop (call $set (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 16) (i32.const 10)))
    i32.const 0))
--- request
POST /t
hello
--- response_body
15 wasm saw: hello
--- no_error_log
[error]
[alert]
[crit]



=== TEST 2: the plugin answers from its body callback
--- http_config
    wasm_plugin body html/body.wat;
--- config
    location /t {
        proxy_wasm body;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/echo;
    }
    location = /echo {
        return 200 "upstream\n";
    }
--- user_files
>>> body.wat
(module
  (import "env" "proxy_set_buffer_bytes" (func $set (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_send_local_response" (func $send (param i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "wasm saw: ")
  (data (i32.const 32) "too big\n")
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_memory_allocate") (param i32) (result i32) i32.const 1024)
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_request_body") (param i32 i32 i32) (result i32)
    (if (i32.gt_u (local.get 1) (i32.const 100))
      (then
        (drop (call $send (i32.const 413) (i32.const 0) (i32.const 0) (i32.const 32) (i32.const 8)
                          (i32.const 0) (i32.const 0) (i32.const -1)))
        (return (i32.const 1))))
    (drop (call $set (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 16) (i32.const 10)))
    i32.const 0))
--- request eval
"POST /t\n" . ("x" x 200)
--- error_code: 413
--- response_body
too big
--- no_error_log
[error]
[alert]
[crit]



=== TEST 3: a request without a body goes straight on
--- http_config
    wasm_plugin body html/body.wat;
--- config
    location /t {
        proxy_wasm body;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/echo;
    }
    location = /echo {
        return 200 "upstream\n";
    }
--- user_files
>>> body.wat
(module
  (memory (export "memory") 1)
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_memory_allocate") (param i32) (result i32) i32.const 1024)
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_request_body") (param i32 i32 i32) (result i32) unreachable))
--- request
GET /t
--- response_body
upstream
--- no_error_log
[error]
[alert]
[crit]
