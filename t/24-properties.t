# Properties (proxy_get_property / proxy_set_property) through the Lua API: Envoy attribute paths, nginx
# variables by name (api7-compatible single segment, and ngx.<name>), setting variables the way APISIX's wasm
# layer does (wasm_process_req_body), refusals. Plugin: t/plugins/hostcalls.
use Test::Nginx::Socket::Lua 'no_plan';

log_level('info');
no_shuffle();
run_tests();

__DATA__

=== TEST 1: request attributes
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("hostcalls", "t/plugins/hostcalls.wasm"))
        package.loaded.ctx = assert(wasm.on_configure(plugin, [=[{"on_request_headers": [
            {"op": "get_property", "path": ["request", "path"]},
            {"op": "get_property", "path": ["request", "url_path"]},
            {"op": "get_property", "path": ["request", "host"]},
            {"op": "get_property", "path": ["request", "scheme"]},
            {"op": "get_property", "path": ["request", "method"]},
            {"op": "get_property", "path": ["request", "protocol"]},
            {"op": "get_property", "path": ["request", "query"]},
            {"op": "get_property", "path": ["request", "headers", "x-in"]},
            {"op": "get_property", "path": ["request", "id"]},
            {"op": "get_property", "path": ["request", "useragent"]},
            {"op": "get_property", "path": ["request", "referer"]},
            {"op": "get_property", "path": ["request", "total_size"]},
            {"op": "get_property", "path": ["request", "time"]},
            {"op": "get_property", "path": ["request.path"]}]}]=]))
    }
--- config
    location /t {
        access_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            assert(wasm.on_http_request_headers(package.loaded.ctx))
        }
        content_by_lua_block { ngx.say("ok") }
    }
--- request
GET /t/p?a=1&b=2
--- more_headers
X-In: in
X-Request-Id: rid-1
User-Agent: tester
--- response_body
ok
--- error_log
get_property request.path -> Ok "/t/p?a=1&b=2"
get_property request.url_path -> Ok "/t/p"
get_property request.host -> Ok "localhost"
get_property request.scheme -> Ok "http"
get_property request.method -> Ok "GET"
get_property request.protocol -> Ok "HTTP/1.1"
get_property request.query -> Ok "a=1&b=2"
get_property request.headers.x-in -> Ok "in"
get_property request.id -> Ok "rid-1"
get_property request.useragent -> Ok "tester"
get_property request.referer -> NotFound
get_property request.total_size -> Ok
get_property request.time -> Ok
get_property request.path -> Ok "/t/p?a=1&b=2"
--- no_error_log
[error]
[alert]
[crit]



=== TEST 2: connection attributes, plugin_name, nginx variables by name
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("hostcalls", "t/plugins/hostcalls.wasm"))
        package.loaded.ctx = assert(wasm.on_configure(plugin, [=[{"on_request_headers": [
            {"op": "get_property", "path": ["source", "address"]},
            {"op": "get_property", "path": ["source", "port"]},
            {"op": "get_property", "path": ["destination", "address"]},
            {"op": "get_property", "path": ["destination", "port"]},
            {"op": "get_property", "path": ["connection", "id"]},
            {"op": "get_property", "path": ["plugin_name"]},
            {"op": "get_property", "path": ["ngx", "uri"]},
            {"op": "get_property", "path": ["ngx", "arg_a"]},
            {"op": "get_property", "path": ["ngx", "http_x_in"]},
            {"op": "get_property", "path": ["ngx", "my_var"]},
            {"op": "get_property", "path": ["my_var"]},
            {"op": "get_property", "path": ["REQUEST_METHOD"]},
            {"op": "get_property", "path": ["ngx", "no_such_variable"]},
            {"op": "get_property", "path": ["no_such_variable"]},
            {"op": "get_property", "path": ["request", "no_such_attribute"]},
            {"op": "get_property", "path": ["request"]},
            {"op": "get_property", "path": []}]}]=]))
    }
--- config
    location /t {
        set $my_var "mine";
        access_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            assert(wasm.on_http_request_headers(package.loaded.ctx))
        }
        content_by_lua_block { ngx.say("ok") }
    }
--- request
GET /t?a=1
--- more_headers
X-In: in
--- response_body
ok
--- error_log
get_property source.address -> Ok "127.0.0.1"
get_property source.port -> Ok
get_property destination.address -> Ok "127.0.0.1"
get_property destination.port -> Ok
get_property connection.id -> Ok
get_property plugin_name -> Ok "hostcalls"
get_property ngx.uri -> Ok "/t"
get_property ngx.arg_a -> Ok "1"
get_property ngx.http_x_in -> Ok "in"
get_property ngx.my_var -> Ok "mine"
get_property my_var -> Ok "mine"
get_property REQUEST_METHOD -> Ok "GET"
get_property ngx.no_such_variable -> NotFound
get_property no_such_variable -> NotFound
get_property request.no_such_attribute -> NotFound
get_property request -> NotFound
get_property  -> NotFound
--- no_error_log
[error]
[alert]
[crit]



=== TEST 3: APISIX's protocol: the plugin sets wasm_process_req_body, Lua then feeds it the request body
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("hostcalls", "t/plugins/hostcalls.wasm"))
        package.loaded.ctx = assert(wasm.on_configure(plugin, [=[{
            "on_request_headers": [{"op": "set_property", "path": ["wasm_process_req_body"], "value": "true"},
                                   {"op": "set_property", "path": ["ngx", "wasm_process_resp_body"], "value": "yes"}],
            "on_request_body": [{"op": "get_body"}]}]=]))
    }
--- config
    location /t {
        set $wasm_process_req_body '';
        set $wasm_process_resp_body '';
        access_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            local ctx = package.loaded.ctx
            assert(wasm.on_http_request_headers(ctx))
            if ngx.var.wasm_process_req_body ~= "" then
                ngx.req.read_body()
                assert(wasm.on_http_request_body(ctx, ngx.req.get_body_data(), true))
            end
        }
        content_by_lua_block {
            ngx.say("req=", ngx.var.wasm_process_req_body, " resp=", ngx.var.wasm_process_resp_body)
        }
    }
--- request
POST /t
the body
--- response_body
req=true resp=yes
--- error_log
set_property wasm_process_req_body "true" -> Ok
set_property ngx.wasm_process_resp_body "yes" -> Ok
get_body request_body -> Ok "the body"
--- no_error_log
[error]
[alert]
[crit]



=== TEST 4: setting $args (changeable in nginx) changes the query; read-only and unknown properties are refused
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("hostcalls", "t/plugins/hostcalls.wasm"))
        package.loaded.ctx = assert(wasm.on_configure(plugin, [=[{"on_request_headers": [
            {"op": "set_property", "path": ["ngx", "args"], "value": "x=9"},
            {"op": "get_property", "path": ["request", "query"]},
            {"op": "set_property", "path": ["ngx", "undeclared"], "value": "1"},
            {"op": "set_property", "path": ["ngx", "remote_addr"], "value": "1.2.3.4"},
            {"op": "set_property", "path": ["request", "path"], "value": "/x"},
            {"op": "set_property", "path": ["a", "b", "c"], "value": "1"},
            {"op": "get_property", "path": ["source", "address"]}]}]=]))
    }
--- config
    location /t {
        access_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            assert(wasm.on_http_request_headers(package.loaded.ctx))
        }
        content_by_lua_block { ngx.say(ngx.var.args) }
    }
--- request
GET /t?a=1
--- response_body
x=9
--- error_log
set_property ngx.args "x=9" -> Ok
get_property request.query -> Ok "x=9"
set_property ngx.undeclared "1" -> NotFound
proxy-wasm: proxy_set_property: no nginx variable "undeclared"
set_property ngx.remote_addr "1.2.3.4" -> BadArgument
proxy-wasm: proxy_set_property: nginx variable "remote_addr" is not changeable
set_property request.path "/x" -> NotFound
proxy-wasm: proxy_set_property: property "request.path" is read-only or unknown
set_property a.b.c "1" -> NotFound
get_property source.address -> Ok "127.0.0.1"
--- no_error_log
[error]
[alert]
[crit]



=== TEST 5: response attributes in the response headers callback and in on_log
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("hostcalls", "t/plugins/hostcalls.wasm"))
        package.loaded.ctx = assert(wasm.on_configure(plugin, [=[{
            "on_request_headers": [{"op": "get_property", "path": ["response", "code"]}],
            "on_response_headers": [{"op": "get_property", "path": ["response", "code"]},
                                    {"op": "get_property", "path": ["response", "headers", "x-out"]}],
            "on_log": [{"op": "get_property", "path": ["response", "code"]},
                       {"op": "get_property", "path": ["response", "total_size"]},
                       {"op": "get_property", "path": ["request", "path"]}]}]=]))
    }
--- config
    location /t {
        access_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            assert(wasm.on_http_request_headers(package.loaded.ctx))
        }
        header_filter_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            assert(wasm.on_http_response_headers(package.loaded.ctx))
        }
        content_by_lua_block {
            ngx.status = 202
            ngx.header["X-Out"] = "out"
            ngx.say("ok")
        }
    }
--- request
GET /t
--- error_code: 202
--- response_body
ok
--- error_log
on_request_headers: get_property response.code -> NotFound
on_response_headers: get_property response.code -> Ok "202"
on_response_headers: get_property response.headers.x-out -> Ok "out"
on_log: get_property response.code -> Ok "202"
on_log: get_property response.total_size -> Ok
on_log: get_property request.path -> Ok "/t"
--- no_error_log
[error]
[alert]
[crit]
