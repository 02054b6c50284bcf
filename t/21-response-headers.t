# Response header maps through the Lua API (header_filter_by_lua): :status, content-type, content-length,
# repeated headers, add/replace/remove, set pairs, hostile arguments. Plugin: t/plugins/hostcalls.
use Test::Nginx::Socket::Lua 'no_plan';

log_level('info');
no_shuffle();
run_tests();

__DATA__

=== TEST 1: pairs: :status, content-type, content-length, repeated headers, names lowercased
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("hostcalls", "t/plugins/hostcalls.wasm"))
        package.loaded.ctx = assert(wasm.on_configure(plugin, [=[{"on_response_headers": [
            {"op": "log_pairs", "map": "response_headers"},
            {"op": "get", "map": "response_headers", "key": ":status"},
            {"op": "get", "map": "response_headers", "key": "X-REP"},
            {"op": "get", "map": "response_headers", "key": "x-none"}]}]=]))
    }
--- config
    location /t {
        header_filter_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            assert(wasm.on_http_response_headers(package.loaded.ctx))
        }
        content_by_lua_block {
            ngx.status = 201
            ngx.header["Content-Type"] = "text/x-test"
            ngx.header["Content-Length"] = 3
            ngx.header["X-Rep"] = {"1", "2"}
            ngx.header["X-Single"] = "s"
            ngx.print("ok\n")
        }
    }
--- request
GET /t
--- error_code: 201
--- response_body
ok
--- grep_error_log eval: qr/\bresponse_headers: [^,]+/
--- grep_error_log_out
response_headers: :status: 201
response_headers: content-type: text/x-test
response_headers: content-length: 3
response_headers: x-rep: 1
response_headers: x-rep: 2
response_headers: x-single: s
response_headers: 6 pairs
--- error_log
hostcalls: on_response_headers num_headers=6 end_of_stream=false
get response_headers ":status" -> Ok "201"
get response_headers "X-REP" -> Ok "1"
get response_headers "x-none" -> NotFound
--- no_error_log
[error]
[alert]
[crit]



=== TEST 2: add, replace, remove, :status, content-type; the client gets the result
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("hostcalls", "t/plugins/hostcalls.wasm"))
        package.loaded.ctx = assert(wasm.on_configure(plugin, [=[{"on_response_headers": [
            {"op": "add", "map": "response_headers", "key": "x-rep", "value": "3"},
            {"op": "add", "map": "response_headers", "key": "X-Added", "value": "a"},
            {"op": "replace", "map": "response_headers", "key": "x-single", "value": "S2"},
            {"op": "remove", "map": "response_headers", "key": "x-gone"},
            {"op": "replace", "map": "response_headers", "key": ":status", "value": "202"},
            {"op": "replace", "map": "response_headers", "key": "content-type", "value": "application/x-wasm"},
            {"op": "log_pairs", "map": "response_headers"}]}]=]))
    }
--- config
    location /t {
        header_filter_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            assert(wasm.on_http_response_headers(package.loaded.ctx))
        }
        content_by_lua_block {
            ngx.header["X-Rep"] = {"1", "2"}
            ngx.header["X-Single"] = "s"
            ngx.header["X-Gone"] = "g"
            ngx.say("ok")
        }
    }
--- request
GET /t
--- error_code: 202
--- response_headers
X-Rep: 1, 2, 3
x-added: a
X-Single: S2
! X-Gone
Content-Type: application/x-wasm
--- response_body
ok
--- grep_error_log eval: qr/\bresponse_headers: [^,]+/
--- grep_error_log_out
response_headers: :status: 202
response_headers: content-type: application/x-wasm
response_headers: x-rep: 1
response_headers: x-rep: 2
response_headers: x-rep: 3
response_headers: x-added: a
response_headers: x-single: S2
response_headers: 7 pairs
--- no_error_log
[error]
[alert]
[crit]



=== TEST 3: content-length: replaced and removed; removing server and date keeps nginx from adding its own
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("hostcalls", "t/plugins/hostcalls.wasm"))
        package.loaded.ctx = assert(wasm.on_configure(plugin, [=[{"on_response_headers": [
            {"op": "get", "map": "response_headers", "key": "content-length"},
            {"op": "remove", "map": "response_headers", "key": "content-length"},
            {"op": "remove", "map": "response_headers", "key": "server"},
            {"op": "remove", "map": "response_headers", "key": "date"},
            {"op": "get", "map": "response_headers", "key": "content-length"}]}]=]))
    }
--- config
    location /t {
        header_filter_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            assert(wasm.on_http_response_headers(package.loaded.ctx))
        }
        return 200 "static\n";
    }
--- request
GET /t
--- response_headers
! Content-Length
! Server
! Date
--- response_body
static
--- error_log
get response_headers "content-length" -> Ok "7"
get response_headers "content-length" -> NotFound
--- no_error_log
[error]
[alert]
[crit]



=== TEST 4: set_header_map_pairs replaces the response headers and the status
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("hostcalls", "t/plugins/hostcalls.wasm"))
        package.loaded.ctx = assert(wasm.on_configure(plugin, [=[{"on_response_headers": [
            {"op": "set_pairs", "map": "response_headers", "pairs": [[":status", "203"], ["x-a", "1"], ["x-a", "2"], ["content-type", "text/y"]]},
            {"op": "log_pairs", "map": "response_headers"}]}]=]))
    }
--- config
    location /t {
        header_filter_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            assert(wasm.on_http_response_headers(package.loaded.ctx))
        }
        content_by_lua_block {
            ngx.header["X-Old"] = "o"
            ngx.say("ok")
        }
    }
--- request
GET /t
--- error_code: 203
--- response_headers
! X-Old
X-A: 1, 2
Content-Type: text/y
--- response_body
ok
--- grep_error_log eval: qr/\bresponse_headers: [^,]+/
--- grep_error_log_out
response_headers: :status: 203
response_headers: content-type: text/y
response_headers: x-a: 1
response_headers: x-a: 2
response_headers: 4 pairs
--- no_error_log
[error]
[alert]
[crit]



=== TEST 5: hostile arguments: bad :status, removing :status, bad names and values, unknown pseudo-headers
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("hostcalls", "t/plugins/hostcalls.wasm"))
        package.loaded.ctx = assert(wasm.on_configure(plugin, [=[{"on_response_headers": [
            {"op": "replace", "map": "response_headers", "key": ":status", "value": "99"},
            {"op": "replace", "map": "response_headers", "key": ":status", "value": "600"},
            {"op": "replace", "map": "response_headers", "key": ":status", "value": "2x0"},
            {"op": "remove", "map": "response_headers", "key": ":status"},
            {"op": "add", "map": "response_headers", "key": ":path", "value": "/"},
            {"op": "add", "map": "response_headers", "key": "a:b", "value": "x"},
            {"op": "add", "map": "response_headers", "key": "x-lf", "value": "a\nb"},
            {"op": "replace", "map": "response_headers", "key": "content-length", "value": "-1"},
            {"op": "get", "map": "response_headers", "key": ":status"}]}]=]))
    }
--- config
    location /t {
        header_filter_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            assert(wasm.on_http_response_headers(package.loaded.ctx))
        }
        content_by_lua_block { ngx.say("ok") }
    }
--- request
GET /t
--- response_body
ok
--- error_log
replace response_headers ":status" "99" -> BadArgument
replace response_headers ":status" "600" -> BadArgument
replace response_headers ":status" "2x0" -> BadArgument
remove response_headers ":status" -> BadArgument
add response_headers ":path" "/" -> BadArgument
add response_headers "a:b" "x" -> BadArgument
add response_headers "x-lf" "a\nb" -> BadArgument
replace response_headers "content-length" "-1" -> BadArgument
get response_headers ":status" -> Ok "200"
--- no_error_log
[error]
[alert]
[crit]



=== TEST 6: the request headers are still readable from the response headers callback
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("hostcalls", "t/plugins/hostcalls.wasm"))
        package.loaded.ctx = assert(wasm.on_configure(plugin, [=[{"on_response_headers": [
            {"op": "get", "map": "request_headers", "key": ":path"},
            {"op": "get", "map": "request_headers", "key": "x-in"}]}]=]))
    }
--- config
    location /t {
        header_filter_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            assert(wasm.on_http_response_headers(package.loaded.ctx))
        }
        content_by_lua_block { ngx.say("ok") }
    }
--- request
GET /t?x=1
--- more_headers
X-In: in
--- response_body
ok
--- error_log
get request_headers ":path" -> Ok "/t?x=1"
get request_headers "x-in" -> Ok "in"
--- no_error_log
[error]
[alert]
[crit]
