# wasm.on_configure: a plugin ctx per configuration; refusals give the documented errors and a log line.
use Test::Nginx::Socket::Lua 'no_plan';

log_level('info');
no_shuffle();
run_tests();

__DATA__

=== TEST 1: a good configuration gives a plugin ctx
--- http_config
    lua_package_path "lua/?.lua;;";
--- config
    location /t {
        content_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            local plugin = assert(wasm.load("fault_injection", "t/plugins/fault_injection.wasm"))
            local ctx, err = wasm.on_configure(plugin, '{"body":"x","http_status":403}')
            ngx.say(type(ctx), " ", err)
        }
    }
--- request
GET /t
--- response_body
cdata nil
--- no_error_log
[error]
[alert]
[crit]



=== TEST 2: an empty or non-string conf is a bad conf; a non-plugin is a bad plugin
--- http_config
    lua_package_path "lua/?.lua;;";
--- config
    location /t {
        content_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            local plugin = assert(wasm.load("fault_injection", "t/plugins/fault_injection.wasm"))
            ngx.say(select(2, wasm.on_configure(plugin, "")))
            ngx.say(select(2, wasm.on_configure(plugin, nil)))
            ngx.say(select(2, wasm.on_configure(plugin, {})))
            ngx.say(select(2, wasm.on_configure("plugin", "{}")))
        }
    }
--- request
GET /t
--- response_body
bad conf
bad conf
bad conf
bad plugin
--- no_error_log
[error]
[alert]
[crit]



=== TEST 3: http_status below 200 is rejected by the plugin with a logged error
--- http_config
    lua_package_path "lua/?.lua;;";
--- config
    location /t {
        content_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            local plugin = assert(wasm.load("fault_injection", "t/plugins/fault_injection.wasm"))
            ngx.say(wasm.on_configure(plugin, '{"body":"x","http_status":100}'))
        }
    }
--- request
GET /t
--- response_body
nilfailed to run proxy_on_configure
--- error_log
wasm plugin "fault_injection": fault injection: bad http_status 100: must be at least 200
wasm plugin "fault_injection": proxy_on_configure returned failure
--- no_error_log
[alert]
[crit]



=== TEST 4: malformed JSON is rejected, and the same plugin still configures afterwards
--- http_config
    lua_package_path "lua/?.lua;;";
--- config
    location /t {
        content_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            local plugin = assert(wasm.load("fault_injection", "t/plugins/fault_injection.wasm"))
            ngx.say(wasm.on_configure(plugin, '{"body":'))
            ngx.say(type(wasm.on_configure(plugin, '{"http_status":200}')))
        }
    }
--- request
GET /t
--- response_body
nilfailed to run proxy_on_configure
cdata
--- error_log
fault injection: bad configuration: EOF while parsing a value
--- no_error_log
[alert]
[crit]



=== TEST 5: a percentage outside 1..100 is rejected
--- http_config
    lua_package_path "lua/?.lua;;";
--- config
    location /t {
        content_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            local plugin = assert(wasm.load("fault_injection", "t/plugins/fault_injection.wasm"))
            ngx.say(wasm.on_configure(plugin, '{"http_status":200,"percentage":0}'))
        }
    }
--- request
GET /t
--- response_body
nilfailed to run proxy_on_configure
--- error_log
fault injection: bad percentage 0: must be within 1..=100
--- no_error_log
[alert]
[crit]



=== TEST 6: the VM configuration given to load reaches proxy_on_vm_start; a bad one is refused by the plugin
--- http_config
    lua_package_path "lua/?.lua;;";
--- config
    location /t {
        content_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            local path = ngx.config.prefix() .. "html/vm_start.wat"
            local plugin = assert(wasm.load("vm_start", path, "vm-conf"))
            ngx.say(type(wasm.on_configure(plugin, "conf")))
            local refusing = assert(wasm.load("vm_start", path))
            ngx.say(wasm.on_configure(refusing, "conf"))
            ngx.say(wasm.load("vm_start", path, 42))
        }
    }
--- user_files
>>> vm_start.wat
(module
  (import "env" "proxy_log" (func $log (param i32 i32 i32) (result i32)))
  (import "env" "proxy_get_buffer_bytes" (func $buffer (param i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_memory_allocate") (param i32) (result i32) i32.const 1024)
  (func (export "proxy_on_context_create") (param i32 i32))
  ;; log the VM configuration; refuse to start without one
  (func (export "proxy_on_vm_start") (param i32 i32) (result i32)
    (if (i32.eqz (local.get 1)) (then (return (i32.const 0))))
    (drop (call $buffer (i32.const 6) (i32.const 0) (local.get 1) (i32.const 100) (i32.const 104)))
    (drop (call $log (i32.const 2) (i32.load (i32.const 100)) (i32.load (i32.const 104))))
    i32.const 1))
--- request
GET /t
--- response_body
cdata
nilfailed to run proxy_on_configure
nilbad vm_config
--- error_log eval
[qr/\[info\] .*wasm plugin "vm_start": vm-conf/,
qr/wasm plugin "vm_start": proxy_on_vm_start returned failure/]
--- no_error_log
[alert]
[crit]
