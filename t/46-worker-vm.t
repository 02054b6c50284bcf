# Each worker runs its own instance of a plugin Lua loaded and configured in init_by_lua (in the master): state
# the plugin seeds at start differs between workers. Two workers.
use Test::Nginx::Socket::Lua 'no_plan';

master_on();
workers(2);
log_level('info');
no_shuffle();
run_tests();

__DATA__

=== TEST 1: a plugin loaded in init_by_lua: two workers draw different seeds at start
--- http_config
    lua_package_path "lua/?.lua;;";
    init_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("seed", ngx.config.prefix() .. "html/seed.wat"))
        package.loaded.ctx = assert(wasm.on_configure(plugin, "{}"))
    }
--- config
    location /t {
        access_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            assert(wasm.on_http_request_headers(package.loaded.ctx))
        }
        content_by_lua_block { ngx.say("ok") }
    }
--- user_files
>>> seed.wat
(module
  (import "wasi_snapshot_preview1" "random_get" (func $random (param i32 i32) (result i32)))
  (import "env" "proxy_log" (func $log (param i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "0123456789abcdef")
  (data (i32.const 32) "seed=")
  (global $seeded (mut i32) (i32.const 0))
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_memory_allocate") (param i32) (result i32) i32.const 1024)
  (func (export "proxy_on_context_create") (param i32 i32))
  ;; draws its seed once per instance, as plugins seed their generators at start
  (func (export "proxy_on_vm_start") (param i32 i32) (result i32)
    (local $i i32) (local $b i32)
    (if (global.get $seeded) (then (return (i32.const 1))))
    (global.set $seeded (i32.const 1))
    (drop (call $random (i32.const 16) (i32.const 8)))
    (loop $hex
      (local.set $b (i32.load8_u (i32.add (i32.const 16) (local.get $i))))
      (i32.store8 (i32.add (i32.const 37) (i32.shl (local.get $i) (i32.const 1)))
        (i32.load8_u (i32.shr_u (local.get $b) (i32.const 4))))
      (i32.store8 (i32.add (i32.const 38) (i32.shl (local.get $i) (i32.const 1)))
        (i32.load8_u (i32.and (local.get $b) (i32.const 15))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $hex (i32.lt_u (local.get $i) (i32.const 8))))
    (drop (call $log (i32.const 2) (i32.const 32) (i32.const 21)))
    i32.const 1))
--- request
GET /t
--- response_body
ok
--- wait: 0.2
--- grep_error_log eval: qr/seed=[0-9a-f]{16}/
--- grep_error_log_out eval
qr/seed=([0-9a-f]{16})\n(?:.*\n)*?seed=(?!\1)[0-9a-f]{16}\n/
--- no_error_log
[error]
[alert]
[crit]
