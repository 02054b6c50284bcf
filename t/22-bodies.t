# Request and response bodies through the Lua API: reading (whole, slices, status), end_of_stream, and changing
# them with proxy_set_buffer_bytes (replace, prepend, append). Plugin: t/plugins/hostcalls.
use Test::Nginx::Socket::Lua 'no_plan';

log_level('info');
no_shuffle();
run_tests();

__DATA__

=== TEST 1: the request body, whole, a slice, past its end (BadArgument, as in Envoy), its status, and the plugin's configuration, readable after proxy_on_configure (as api7's host keeps it)
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("hostcalls", "t/plugins/hostcalls.wasm"))
        package.loaded.ctx = assert(wasm.on_configure(plugin, [=[{"on_request_body": [
            {"op": "get_body"},
            {"op": "get_body", "start": 6, "max": 3},
            {"op": "get_body", "start": 100},
            {"op": "buffer_status"},
            {"op": "get_body", "buffer": "response_body"},
            {"op": "get_body", "buffer": "plugin_configuration", "max": 18}]}]=]))
    }
--- config
    location /t {
        access_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            ngx.req.read_body()
            assert(wasm.on_http_request_body(package.loaded.ctx, ngx.req.get_body_data(), true))
        }
        content_by_lua_block { ngx.say(ngx.req.get_body_data()) }
    }
--- request
POST /t
hello wasm world
--- response_body
hello wasm world
--- error_log
hostcalls: on_request_body body_size=16 end_of_stream=true
get_body request_body -> Ok "hello wasm world"
get_body request_body -> Ok "was"
get_body request_body -> BadArgument
buffer_status request_body -> Ok length=16 flags=1
get_body response_body -> NotFound
get_body plugin_configuration -> Ok "{\"on_request_body\""
--- no_error_log
[error]
[alert]
[crit]



=== TEST 2: the request body replaced: the upstream gets the plugin's body with its length
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("hostcalls", "t/plugins/hostcalls.wasm"))
        package.loaded.ctx = assert(wasm.on_configure(plugin, [=[{"on_request_body": [
            {"op": "set_body", "value": "replaced"},
            {"op": "set_body", "mode": "prepend", "value": "<"},
            {"op": "get_body"}]}]=]))
    }
--- config
    location /t {
        access_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            ngx.req.read_body()
            assert(wasm.on_http_request_body(package.loaded.ctx, ngx.req.get_body_data(), true))
        }
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/echo;
    }
    location /echo {
        content_by_lua_block {
            ngx.req.read_body()
            ngx.say(ngx.var.http_content_length, " ", ngx.req.get_body_data())
        }
    }
--- request
POST /t
original
--- response_body
9 <replaced
--- error_log
set_body request_body 0:8 "replaced" -> Ok
set_body request_body 0:0 "<" -> Ok
get_body request_body -> Ok "<replaced"
--- no_error_log
[error]
[alert]
[crit]



=== TEST 3: an empty request body (GET): body_size 0, eos true, reading gives nothing
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("hostcalls", "t/plugins/hostcalls.wasm"))
        package.loaded.ctx = assert(wasm.on_configure(plugin, [=[{"on_request_body": [
            {"op": "get_body"}, {"op": "buffer_status"}]}]=]))
    }
--- config
    location /t {
        access_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            ngx.req.read_body()
            assert(wasm.on_http_request_body(package.loaded.ctx, ngx.req.get_body_data(), true))
        }
        content_by_lua_block { ngx.say("ok") }
    }
--- request
GET /t
--- response_body
ok
--- error_log
hostcalls: on_request_body body_size=0 end_of_stream=true
get_body request_body -> Ok ""
buffer_status request_body -> Ok length=0 flags=1
--- no_error_log
[error]
[alert]
[crit]



=== TEST 4: response body chunks: each read, end_of_stream only on the last call; a flush without data is not a call
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("hostcalls", "t/plugins/hostcalls.wasm"))
        package.loaded.ctx = assert(wasm.on_configure(plugin, [=[{"on_response_body": [{"op": "get_body"}]}]=]))
    }
--- config
    location /t {
        body_filter_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            assert(wasm.on_http_response_body(package.loaded.ctx))
        }
        content_by_lua_block {
            ngx.print("one;")
            ngx.flush(true)
            ngx.print("two;")
        }
    }
--- request
GET /t
--- response_body chomp
one;two;
--- grep_error_log eval: qr/on_response_body[^,]+/
--- grep_error_log_out
on_response_body body_size=4 end_of_stream=false
on_response_body: get_body response_body -> Ok "one;"
on_response_body body_size=4 end_of_stream=false
on_response_body: get_body response_body -> Ok "two;"
on_response_body body_size=0 end_of_stream=true
on_response_body: get_body response_body -> Ok ""
--- no_error_log
[error]
[alert]
[crit]



=== TEST 5: response body changed: replace each chunk, prepend, append at the end of the stream
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("hostcalls", "t/plugins/hostcalls.wasm"))
        package.loaded.ctx = assert(wasm.on_configure(plugin, [=[{"on_response_body": [
            {"op": "set_body", "value": "X"},
            {"op": "set_body", "mode": "prepend", "value": "["},
            {"op": "set_body", "mode": "append", "value": "]"},
            {"op": "set_body", "mode": "append", "value": "<end>", "if_eos": true}]}]=]))
    }
--- config
    location /t {
        header_filter_by_lua_block { ngx.header.content_length = nil }
        body_filter_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            assert(wasm.on_http_response_body(package.loaded.ctx))
        }
        content_by_lua_block {
            ngx.print("one;")
            ngx.flush(true)
            ngx.print("two;")
        }
    }
--- request
GET /t
--- response_body chomp
[X][X][X]<end>
--- no_error_log
[error]
[alert]
[crit]



=== TEST 6: a proxied response body is read and replaced by a static one at the end
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("hostcalls", "t/plugins/hostcalls.wasm"))
        package.loaded.ctx = assert(wasm.on_configure(plugin, [=[{"on_response_body": [
            {"op": "get_body"},
            {"op": "set_body", "value": ""},
            {"op": "set_body", "value": "all replaced\n", "if_eos": true}]}]=]))
    }
--- config
    location /t {
        header_filter_by_lua_block { ngx.header.content_length = nil }
        body_filter_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            assert(wasm.on_http_response_body(package.loaded.ctx))
        }
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location /up {
        return 200 "from upstream\n";
    }
--- request
GET /t
--- response_body
all replaced
--- error_log
get_body response_body -> Ok "from upstream\n"
--- no_error_log
[error]
[alert]
[crit]



=== TEST 7: hostile buffer arguments: unknown buffer type, a buffer of another phase, huge start
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("hostcalls", "t/plugins/hostcalls.wasm"))
        package.loaded.ctx = assert(wasm.on_configure(plugin, [=[{"on_request_body": [
            {"op": "get_body", "buffer": 99},
            {"op": "buffer_status", "buffer": 99},
            {"op": "set_body", "buffer": 99, "value": "x"},
            {"op": "set_body", "buffer": "response_body", "value": "x"},
            {"op": "set_body", "buffer": "plugin_configuration", "start": 0, "size": 3, "value": "x"},
            {"op": "get_body", "start": 4294967295, "max": 4294967295},
            {"op": "set_body", "start": 4294967295, "size": 4294967295, "value": "!"},
            {"op": "get_body"}],
          "on_request_headers": [{"op": "get_body", "buffer": "request_body"}, {"op": "set_body", "buffer": "request_body", "start": 0, "size": 0, "value": "x"}]}]=]))
    }
--- config
    location /t {
        access_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            assert(wasm.on_http_request_headers(package.loaded.ctx))
            ngx.req.read_body()
            assert(wasm.on_http_request_body(package.loaded.ctx, ngx.req.get_body_data(), true))
        }
        content_by_lua_block { ngx.say(ngx.req.get_body_data()) }
    }
--- request
POST /t
abc
--- response_body
abc!
--- error_log
on_request_headers: get_body request_body -> NotFound
on_request_headers: set_body request_body 0:0 "x" -> NotFound
get_body type 99 -> BadArgument
buffer_status type 99 -> BadArgument
set_body type 99 0:3 "x" -> BadArgument
set_body response_body 0:3 "x" -> NotFound
set_body plugin_configuration 0:3 "x" -> NotFound
get_body request_body -> BadArgument
get_body request_body -> Ok "abc!"
--- no_error_log
[error]
[alert]
[crit]
