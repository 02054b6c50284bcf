# Local responses (proxy_send_local_response) through the Lua API: from request headers and request body (with
# headers, repeated headers, empty body = nginx's error page), from response headers (status and headers
# replaced before nginx sends them), refused from the response body; bad statuses. Plugin: t/plugins/hostcalls.
use Test::Nginx::Socket::Lua 'no_plan';

log_level('info');
no_shuffle();
run_tests();

__DATA__

=== TEST 1: from request headers: status, body, headers, repeated headers; the content handler never runs
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("hostcalls", "t/plugins/hostcalls.wasm"))
        package.loaded.ctx = assert(wasm.on_configure(plugin, [=[{"on_request_headers": [
            {"op": "local_response", "status": 403, "body": "no\n", "details": "denied",
             "headers": [["x-h", "v"], ["x-rep", "1"], ["x-rep", "2"], ["content-type", "text/x-denied"]]}]}]=]))
    }
--- config
    location /t {
        access_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            assert(wasm.on_http_request_headers(package.loaded.ctx))
            ngx.log(ngx.ERR, "not reached")
        }
        content_by_lua_block { ngx.say("upstream") }
    }
--- request
GET /t
--- error_code: 403
--- response_headers
X-H: v
X-Rep: 1, 2
Content-Type: text/x-denied
--- response_body
no
--- error_log
local_response 403 -> Ok
--- no_error_log
[error]
[alert]
[crit]



=== TEST 2: an empty body gives nginx's error page for that status, with the plugin's headers
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("hostcalls", "t/plugins/hostcalls.wasm"))
        package.loaded.ctx = assert(wasm.on_configure(plugin, [=[{"on_request_headers": [
            {"op": "local_response", "status": 502, "headers": [["x-h", "v"]]}]}]=]))
    }
--- config
    location /t {
        access_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            assert(wasm.on_http_request_headers(package.loaded.ctx))
        }
        content_by_lua_block { ngx.say("upstream") }
    }
--- request
GET /t
--- error_code: 502
--- response_headers
X-H: v
--- response_body_like: <title>502 Bad Gateway</title>
--- no_error_log
[error]
[alert]
[crit]



=== TEST 3: from the request body callback
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("hostcalls", "t/plugins/hostcalls.wasm"))
        package.loaded.ctx = assert(wasm.on_configure(plugin, [=[{"on_request_body": [
            {"op": "get_body"},
            {"op": "local_response", "status": 413, "body": "too much\n"}]}]=]))
    }
--- config
    location /t {
        access_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            ngx.req.read_body()
            assert(wasm.on_http_request_body(package.loaded.ctx, ngx.req.get_body_data(), true))
        }
        content_by_lua_block { ngx.say("upstream") }
    }
--- request
POST /t
payload
--- error_code: 413
--- response_body
too much
--- error_log
get_body request_body -> Ok "payload"
local_response 413 -> Ok
--- no_error_log
[error]
[alert]
[crit]



=== TEST 4: from response headers: status and headers replaced, the body replaced through the body filter
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("hostcalls", "t/plugins/hostcalls.wasm"))
        package.loaded.ctx = assert(wasm.on_configure(plugin, [=[{
            "on_response_headers": [{"op": "local_response", "status": 503, "body": "replaced\n", "headers": [["x-h", "v"]]}],
            "on_response_body": [{"op": "log", "msg": "must not run"}]}]=]))
    }
--- config
    location /t {
        header_filter_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            assert(wasm.on_http_response_headers(package.loaded.ctx))
        }
        body_filter_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            assert(wasm.on_http_response_body(package.loaded.ctx))
        }
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location /up {
        add_header X-Up up;
        return 200 "original body that is longer\n";
    }
--- request
GET /t
--- error_code: 503
--- response_headers
X-H: v
! X-Up
Content-Length: 9
--- response_body
replaced
--- error_log
local_response 503 -> Ok
--- no_error_log
must not run
[error]
[alert]
[crit]



=== TEST 5: from response headers with an empty body: a header-only response
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("hostcalls", "t/plugins/hostcalls.wasm"))
        package.loaded.ctx = assert(wasm.on_configure(plugin, [=[{
            "on_response_headers": [{"op": "local_response", "status": 204, "headers": [["x-h", "v"]]}]}]=]))
    }
--- config
    location /t {
        header_filter_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            assert(wasm.on_http_response_headers(package.loaded.ctx))
        }
        content_by_lua_block { ngx.say("original") }
    }
--- request
GET /t
--- error_code: 204
--- response_headers
X-H: v
--- response_body
--- no_error_log
[error]
[alert]
[crit]



=== TEST 6: from the response body: refused with a clear log line, the call fails, the response is unchanged
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("hostcalls", "t/plugins/hostcalls.wasm"))
        package.loaded.ctx = assert(wasm.on_configure(plugin, [=[{
            "on_response_body": [{"op": "local_response", "status": 500, "body": "late"}]}]=]))
    }
--- config
    location /t {
        body_filter_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            local ok, err = wasm.on_http_response_body(package.loaded.ctx)
            if not ok then ngx.log(ngx.WARN, "body filter: ", err) end
        }
        content_by_lua_block { ngx.say("original") }
    }
--- request
GET /t
--- response_body
original
--- error_log
a local response from proxy_on_response_body is refused: the response headers are sent already
body filter: failed to run proxy_on_http_response_body
--- no_error_log
[alert]
[crit]



=== TEST 7: bad statuses are BadArgument with a log line; the request goes on
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("hostcalls", "t/plugins/hostcalls.wasm"))
        package.loaded.ctx = assert(wasm.on_configure(plugin, [=[{"on_request_headers": [
            {"op": "local_response", "status": 99},
            {"op": "local_response", "status": 600},
            {"op": "local_response", "status": -1},
            {"op": "local_response", "status": 4294967296}]}]=]))
    }
--- config
    location /t {
        access_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            assert(wasm.on_http_request_headers(package.loaded.ctx))
        }
        content_by_lua_block { ngx.say("went on") }
    }
--- request
GET /t
--- response_body
went on
--- error_log
local_response 99 -> BadArgument
local_response 600 -> BadArgument
local_response -1 -> BadArgument
proxy_send_local_response: invalid HTTP status 99
--- no_error_log
[alert]
[crit]



=== TEST 8: directives: from response headers, as through Lua: status and headers replaced, the body replaced
--- http_config
    wasm_plugin hostcalls ../../t/plugins/hostcalls.wasm;
--- config
    location /t {
        proxy_wasm hostcalls '{"on_response_headers": [{"op": "local_response", "status": 503, "body": "replaced\\n", "headers": [["x-h", "v"]]}],
                               "on_response_body": [{"op": "log", "msg": "must not run"}]}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location /up {
        add_header X-Up up;
        return 200 "original body that is longer\n";
    }
--- request
GET /t
--- error_code: 503
--- response_headers
X-H: v
! X-Up
Content-Length: 9
--- response_body
replaced
--- error_log
local_response 503 -> Ok
--- no_error_log
must not run
[error]
[alert]
[crit]



=== TEST 9: directives: from response headers with an empty body: a header-only response
--- http_config
    wasm_plugin hostcalls ../../t/plugins/hostcalls.wasm;
--- config
    location /t {
        proxy_wasm hostcalls '{"on_response_headers": [{"op": "local_response", "status": 204, "headers": [["x-h", "v"]]}]}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location /up {
        return 200 "original\n";
    }
--- request
GET /t
--- error_code: 204
--- response_headers
X-H: v
--- response_body
--- no_error_log
[error]
[alert]
[crit]



=== TEST 10: directives: from the response body: refused with one line; under open the response goes on unchanged
--- http_config
    wasm_plugin hostcalls ../../t/plugins/hostcalls.wasm;
--- config
    location /t {
        proxy_wasm hostcalls '{"on_response_body": [{"op": "local_response", "status": 500, "body": "late"}]}';
        proxy_wasm_failure open;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location /up {
        return 200 "original\n";
    }
--- request
GET /t
--- response_body
original
--- grep_error_log eval: qr/proxy_on_response_body failed: [^;]*; [^(]*\(proxy_wasm_failure open\)/
--- grep_error_log_out
proxy_on_response_body failed: a local response from proxy_on_response_body is refused: the response headers are sent already; continuing without it (proxy_wasm_failure open)
--- no_error_log
[alert]
[crit]
