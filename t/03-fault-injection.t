# The APISIX fault-injection plugin (Rust SDK) answering requests from access_by_lua through resty.proxy-wasm.
use Test::Nginx::Socket::Lua 'no_plan';

log_level('info');
no_shuffle();
run_tests();

__DATA__

=== TEST 1: 200 hello world, the upstream content is never reached
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        package.loaded.plugin = assert(wasm.load("fault_injection", "t/plugins/fault_injection.wasm"))
    }
--- config
    location /t {
        access_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            local ctx = assert(wasm.on_configure(package.loaded.plugin, '{"body":"hello world","http_status":200}'))
            assert(wasm.on_http_request_headers(ctx))
        }
        content_by_lua_block { ngx.say("upstream") }
    }
--- request
GET /t
--- error_code: 200
--- response_body chomp
hello world
--- no_error_log
[error]
[alert]
[crit]



=== TEST 2: 403 with the configured body
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        package.loaded.plugin = assert(wasm.load("fault_injection", "t/plugins/fault_injection.wasm"))
    }
--- config
    location /t {
        access_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            local ctx = assert(wasm.on_configure(package.loaded.plugin, '{"body":"access denied\\n","http_status":403}'))
            assert(wasm.on_http_request_headers(ctx))
        }
        content_by_lua_block { ngx.say("upstream") }
    }
--- request
GET /t
--- error_code: 403
--- response_body
access denied
--- no_error_log
[error]
[alert]
[crit]



=== TEST 3: an empty body gives nginx's own error page for the status
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        package.loaded.plugin = assert(wasm.load("fault_injection", "t/plugins/fault_injection.wasm"))
    }
--- config
    location /t {
        access_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            local ctx = assert(wasm.on_configure(package.loaded.plugin, '{"http_status":503}'))
            assert(wasm.on_http_request_headers(ctx))
        }
        content_by_lua_block { ngx.say("upstream") }
    }
--- request
GET /t
--- error_code: 503
--- response_body_like: <title>503 Service Temporarily Unavailable</title>
--- no_error_log
[error]
[alert]
[crit]



=== TEST 4: the plugin ctx is configured once and serves many requests (APISIX caches it per route conf)
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("fault_injection", "t/plugins/fault_injection.wasm"))
        package.loaded.ctx = assert(wasm.on_configure(plugin, '{"body":"cached\\n","http_status":201}'))
    }
--- config
    location /t {
        access_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            assert(wasm.on_http_request_headers(package.loaded.ctx))
        }
        content_by_lua_block { ngx.say("upstream") }
    }
--- request eval
["GET /t", "GET /t", "GET /t"]
--- error_code eval
[201, 201, 201]
--- response_body eval
["cached\n", "cached\n", "cached\n"]
--- no_error_log
[error]
[alert]
[crit]



=== TEST 5: percentage 100 answers every request
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("fault_injection", "t/plugins/fault_injection.wasm"))
        package.loaded.ctx = assert(wasm.on_configure(plugin, '{"body":"always\\n","http_status":429,"percentage":100}'))
    }
--- config
    location /t {
        access_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            assert(wasm.on_http_request_headers(package.loaded.ctx))
        }
        content_by_lua_block { ngx.say("upstream") }
    }
--- request eval
["GET /t", "GET /t"]
--- error_code eval
[429, 429]
--- response_body eval
["always\n", "always\n"]
--- no_error_log
[error]
[alert]
[crit]



=== TEST 6: a bad plugin ctx is refused, and the request goes on
--- http_config
    lua_package_path "lua/?.lua;;";
--- config
    location /t {
        access_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            ngx.ctx.err = select(2, wasm.on_http_request_headers("ctx"))
        }
        content_by_lua_block { ngx.say(ngx.ctx.err) }
    }
--- request
GET /t
--- response_body
bad plugin ctx
--- no_error_log
[error]
[alert]
[crit]



=== TEST 7: calls outside a request are refused
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("fault_injection", "t/plugins/fault_injection.wasm"))
        local ctx = assert(wasm.on_configure(plugin, '{"http_status":200}'))
        package.loaded.err = select(2, wasm.on_http_request_headers(ctx))
    }
--- config
    location /t {
        content_by_lua_block { ngx.say(package.loaded.err) }
    }
--- request
GET /t
--- response_body
no request found
--- no_error_log
[error]
[alert]
[crit]
