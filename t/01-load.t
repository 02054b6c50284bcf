# wasm.load: plugins compile and instantiate from init_worker_by_lua and from request phases; bad inputs give
# the documented `nil, err` and a log line naming the cause, and the worker keeps serving.
use Test::Nginx::Socket::Lua 'no_plan';

log_level('info');
no_shuffle();
run_tests();

__DATA__

=== TEST 1: load in init_worker_by_lua, use in a request
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        package.loaded.plugin = assert(wasm.load("fault_injection", "t/plugins/fault_injection.wasm"))
    }
--- config
    location /t {
        content_by_lua_block {
            ngx.say(type(package.loaded.plugin))
        }
    }
--- request
GET /t
--- response_body
cdata
--- no_error_log
[error]
[alert]
[crit]



=== TEST 2: load in init_by_lua (the master, before fork): the workers inherit the plugin
--- http_config
    lua_package_path "lua/?.lua;;";
    init_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        package.loaded.plugin = assert(wasm.load("fault_injection", "t/plugins/fault_injection.wasm"))
    }
--- config
    location /t {
        access_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            local ctx = assert(wasm.on_configure(package.loaded.plugin, '{"body":"from master\\n","http_status":200}'))
            assert(wasm.on_http_request_headers(ctx))
        }
        content_by_lua_block { ngx.say("not reached") }
    }
--- request
GET /t
--- response_body
from master
--- no_error_log
[error]
[alert]
[crit]



=== TEST 3: a missing file gives the file error as is
--- http_config
    lua_package_path "lua/?.lua;;";
--- config
    location /t {
        content_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            local plugin, err = wasm.load("x", "t/plugins/does-not-exist.wasm")
            ngx.say(plugin, " ", err)
        }
    }
--- request
GET /t
--- response_body
nil t/plugins/does-not-exist.wasm: No such file or directory
--- no_error_log
[error]
[alert]
[crit]



=== TEST 4: a file that is not wasm is refused, and the log says why
--- http_config
    lua_package_path "lua/?.lua;;";
--- config
    location /t {
        content_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            local plugin, err = wasm.load("notwasm", "t/00-module.t")
            ngx.say(plugin, " ", err)
        }
    }
--- request
GET /t
--- response_body
nil failed to load wasm plugin
--- error_log
wasm plugin "notwasm": failed to load: not a WebAssembly module
--- no_error_log
[alert]
[crit]



=== TEST 5: a wasm module that is not a Proxy-Wasm plugin is refused
--- http_config
    lua_package_path "lua/?.lua;;";
--- config
    location /t {
        content_by_lua_block {
            local f = assert(io.open(ngx.config.prefix() .. "html/empty.wasm", "wb"))
            -- the smallest valid module: magic and version, no sections
            f:write("\0asm\1\0\0\0")
            f:close()
            local wasm = require("resty.proxy-wasm")
            local plugin, err = wasm.load("empty", ngx.config.prefix() .. "html/empty.wasm")
            ngx.say(plugin, " ", err)
        }
    }
--- request
GET /t
--- response_body
nil failed to load wasm plugin
--- error_log
wasm plugin "empty": failed to load: no proxy_abi_version_0_1_0/0_2_0/0_2_1 export: not a Proxy-Wasm plugin
--- no_error_log
[alert]
[crit]



=== TEST 6: bad arguments are refused without touching the C side
--- http_config
    lua_package_path "lua/?.lua;;";
--- config
    location /t {
        content_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            ngx.say(select(2, wasm.load("", "t/plugins/fault_injection.wasm")))
            ngx.say(select(2, wasm.load("x", nil)))
        }
    }
--- request
GET /t
--- response_body
bad name
bad path
--- no_error_log
[error]
[alert]
[crit]
