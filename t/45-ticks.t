# Ticks never starve the worker: however short the period and however long the tick callback runs, the next
# tick comes at least 1 ms after the callback returned (a tick that overran skips), and the worker keeps
# answering requests for other locations. Both entrances.
use Test::Nginx::Socket::Lua 'no_plan';

log_level('info');
no_shuffle();
run_tests();

__DATA__

=== TEST 1: directives: 1 ms ticks whose callback runs 2 ms leave the worker answering other locations
--- http_config
    wasm_plugin tick html/tick.wat time_limit=50ms;
--- config
    location /ticking {
        proxy_wasm tick;
        return 200;
    }
    location = /t {
        content_by_lua_block {
            -- 20 requests to a location without the plugin, one after the other, while the plugin ticks
            local answered = 0
            for i = 1, 20 do
                local sock = ngx.socket.tcp()
                sock:settimeout(2000)
                assert(sock:connect("127.0.0.1", ngx.var.server_port))
                assert(sock:send("GET /plain HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"))
                local all = sock:receive("*a")
                if all and all:find("plain", 1, true) then answered = answered + 1 end
                sock:close()
            end
            ngx.say(answered, " answered")
        }
    }
    location = /plain { return 200 "plain\n"; }
--- user_files
>>> tick.wat
(module
  (import "env" "proxy_set_tick_period_milliseconds" (func $tick (param i32) (result i32)))
  (import "env" "proxy_get_current_time_nanoseconds" (func $now (param i32) (result i32)))
  (import "env" "proxy_log" (func $log (param i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 64) "ticking every 1 ms, 2 ms per tick")
  (global $ticks (mut i32) (i32.const 0))
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_memory_allocate") (param i32) (result i32) i32.const 1024)
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_configure") (param i32 i32) (result i32)
    (drop (call $tick (i32.const 1)))
    i32.const 1)
  (func (export "proxy_on_tick") (param i32)
    (local $start i64)
    (global.set $ticks (i32.add (global.get $ticks) (i32.const 1)))
    (if (i32.eq (global.get $ticks) (i32.const 3))
      (then (drop (call $log (i32.const 2) (i32.const 64) (i32.const 33)))))
    (drop (call $now (i32.const 0)))
    (local.set $start (i64.load (i32.const 0)))
    (loop $spin
      (drop (call $now (i32.const 0)))
      (br_if $spin (i64.lt_u (i64.sub (i64.load (i32.const 0)) (local.get $start)) (i64.const 2000000))))))
--- request
GET /t
--- response_body
20 answered
--- error_log
ticking every 1 ms, 2 ms per tick
--- no_error_log
[error]
[alert]
[crit]



=== TEST 2: Lua: 1 ms ticks whose callback runs 2 ms leave the worker answering other locations
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("tick", ngx.config.prefix() .. "html/tick.wat"))
        package.loaded.ctx = assert(wasm.on_configure(plugin, "{}"))
    }
--- config
    location = /t {
        content_by_lua_block {
            -- 20 requests to a location without the plugin, one after the other, while the plugin ticks
            local answered = 0
            for i = 1, 20 do
                local sock = ngx.socket.tcp()
                sock:settimeout(2000)
                assert(sock:connect("127.0.0.1", ngx.var.server_port))
                assert(sock:send("GET /plain HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"))
                local all = sock:receive("*a")
                if all and all:find("plain", 1, true) then answered = answered + 1 end
                sock:close()
            end
            ngx.say(answered, " answered")
        }
    }
    location = /plain { return 200 "plain\n"; }
--- user_files
>>> tick.wat
(module
  (import "env" "proxy_set_tick_period_milliseconds" (func $tick (param i32) (result i32)))
  (import "env" "proxy_get_current_time_nanoseconds" (func $now (param i32) (result i32)))
  (import "env" "proxy_log" (func $log (param i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 64) "ticking every 1 ms, 2 ms per tick")
  (global $ticks (mut i32) (i32.const 0))
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_memory_allocate") (param i32) (result i32) i32.const 1024)
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_configure") (param i32 i32) (result i32)
    (drop (call $tick (i32.const 1)))
    i32.const 1)
  (func (export "proxy_on_tick") (param i32)
    (local $start i64)
    (global.set $ticks (i32.add (global.get $ticks) (i32.const 1)))
    (if (i32.eq (global.get $ticks) (i32.const 3))
      (then (drop (call $log (i32.const 2) (i32.const 64) (i32.const 33)))))
    (drop (call $now (i32.const 0)))
    (local.set $start (i64.load (i32.const 0)))
    (loop $spin
      (drop (call $now (i32.const 0)))
      (br_if $spin (i64.lt_u (i64.sub (i64.load (i32.const 0)) (local.get $start)) (i64.const 2000000))))))
--- request
GET /t
--- response_body
20 answered
--- error_log
ticking every 1 ms, 2 ms per tick
--- no_error_log
[error]
[alert]
[crit]
