# The module loads into stock nginx next to the lua module, and its main directive behaves.
use Test::Nginx::Socket::Lua 'no_plan';

log_level('info');
no_shuffle();
run_tests();

__DATA__

=== TEST 1: nginx starts with the module and the lua module loaded, and serves
--- config
    location /t {
        content_by_lua_block {
            ngx.say("ok")
        }
    }
--- request
GET /t
--- response_body
ok
--- no_error_log
[error]
[alert]
[crit]
[emerg]



=== TEST 2: wasm_vm wasmtime is accepted (api7 configurations carry it)
--- http_config
    wasm_vm wasmtime;
--- config
    location /t {
        return 200 "ok\n";
    }
--- request
GET /t
--- response_body
ok
--- no_error_log
[error]
[alert]
[crit]



=== TEST 3: any other VM is refused at configuration time (the message: t/37-config-errors.t)
--- http_config
    wasm_vm v8;
--- config
    location /t {
        return 200;
    }
--- must_die



=== TEST 4: the C symbols the Lua API declares are exported to LuaJIT FFI
--- config
    location /t {
        content_by_lua_block {
            local ffi = require("ffi")
            ffi.cdef[[ void *ngx_proxy_wasm_load(const char *, size_t, const char *, size_t); ]]
            ngx.say(tostring(ffi.C.ngx_proxy_wasm_load ~= nil))
        }
    }
--- request
GET /t
--- response_body
true
--- no_error_log
[error]
[alert]
[crit]
