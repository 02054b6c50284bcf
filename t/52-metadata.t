# Envoy's dynamic metadata and filter state through the Lua API: the same mapping to nginx variables as
# t/directives/23-metadata.t; Lua sets them with ngx.var (declared with `set`) and reads what plugins wrote.
# Also plugin_root_id (the name given to wasm.load, as on api7). Plugin: t/plugins/hostcalls.
use Test::Nginx::Socket::Lua 'no_plan';

log_level('info');
no_shuffle();
run_tests();

__DATA__

=== TEST 1: metadata Lua set (ngx.var.proxy_wasm_metadata_envoy_lb_canary) is read by a plugin
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("hostcalls", "t/plugins/hostcalls.wasm"))
        package.loaded.ctx = assert(wasm.on_configure(plugin, [=[{"on_request_headers": [{"op": "get_property", "path": ["metadata", "filter_metadata", "envoy.lb", "canary"]}, {"op": "get_property", "path": ["filter_state", "tenant"]}]}]=]))
    }
--- config
    location /t {
        set $proxy_wasm_metadata_envoy_lb_canary "";
        access_by_lua_block {
            ngx.var.proxy_wasm_metadata_envoy_lb_canary = "from-lua"
            local wasm = require("resty.proxy-wasm")
            assert(wasm.on_http_request_headers(package.loaded.ctx))
        }
        content_by_lua_block { ngx.say("content") }
    }
--- request
GET /t
--- response_body
content
--- grep_error_log eval: qr/get_property [^,]*/
--- grep_error_log_out
get_property metadata.filter_metadata.envoy.lb.canary -> Ok "from-lua"
get_property filter_state.tenant -> NotFound
--- no_error_log
[error]
[alert]
[crit]



=== TEST 2: filter state one plugin sets is read by another plugin of the same request (no variable declared)
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("hostcalls", "t/plugins/hostcalls.wasm"))
        package.loaded.a = assert(wasm.on_configure(plugin, [=[{"on_request_headers": [{"op": "set_property", "path": ["filter_state", "tenant"], "value": "acme"}]}]=]))
        package.loaded.b = assert(wasm.on_configure(plugin, [=[{"on_request_headers": [{"op": "get_property", "path": ["filter_state", "tenant"]}]}]=]))
    }
--- config
    location /t {
        access_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            assert(wasm.on_http_request_headers(package.loaded.a))
            assert(wasm.on_http_request_headers(package.loaded.b))
        }
        content_by_lua_block { ngx.say("content") }
    }
--- request
GET /t
--- response_body
content
--- grep_error_log eval: qr/(?:get|set)_property [^,]*/
--- grep_error_log_out
set_property filter_state.tenant "acme" -> Ok
get_property filter_state.tenant -> Ok "acme"
--- no_error_log
[error]
[alert]
[crit]



=== TEST 3: filter state a plugin writes to a declared variable is what Lua reads (ngx.var.proxy_wasm_filter_state_user)
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("hostcalls", "t/plugins/hostcalls.wasm"))
        package.loaded.ctx = assert(wasm.on_configure(plugin, [=[{"on_request_headers": [{"op": "set_property", "path": ["filter_state", "user"], "value": "ada"}]}]=]))
    }
--- config
    location /t {
        set $proxy_wasm_filter_state_user "";
        access_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            assert(wasm.on_http_request_headers(package.loaded.ctx))
        }
        content_by_lua_block { ngx.say("user=", ngx.var.proxy_wasm_filter_state_user) }
    }
--- request
GET /t
--- response_body
user=ada
--- no_error_log
[error]
[alert]
[crit]



=== TEST 4: plugin_root_id is the name given to wasm.load, as on api7's module, or the root_id given as its fourth argument ("" as on Envoy)
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local conf = [=[{"on_request_headers": [{"op": "get_property", "path": ["plugin_root_id"]}]}]=]
        local named = assert(wasm.load("myplugin", "t/plugins/hostcalls.wasm"))
        local envoy = assert(wasm.load("other", "t/plugins/hostcalls.wasm", nil, ""))
        package.loaded.a = assert(wasm.on_configure(named, conf))
        package.loaded.b = assert(wasm.on_configure(envoy, conf))
    }
--- config
    location /t {
        access_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            assert(wasm.on_http_request_headers(package.loaded.a))
            assert(wasm.on_http_request_headers(package.loaded.b))
        }
        content_by_lua_block { ngx.say("content") }
    }
--- request
GET /t
--- response_body
content
--- grep_error_log eval: qr/get_property plugin_root_id [^,]*/
--- grep_error_log_out
get_property plugin_root_id -> Ok "myplugin"
get_property plugin_root_id -> Ok ""
--- no_error_log
[error]
[alert]
[crit]
