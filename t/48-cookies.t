# Cookies a plugin adds, replaces and removes, as the upstream sees them: the Cookie lines the proxy module
# sends (nginx's header list), and $http_cookie / $cookie_NAME on the proxying side, which nginx reads from a
# field of its own (nginx 1.22: the array headers_in.cookies; nginx >= 1.23: the chain headers_in.cookie, the
# module's `cfg(ngx_table_elt_next)` code). Both entrances; every block runs on both nginx builds of `make test`.
# Plugin: t/plugins/hostcalls (config-driven).
use Test::Nginx::Socket::Lua 'no_plan';

log_level('info');
no_shuffle();
run_tests();

__DATA__

=== TEST 1: directives: a cookie added beside the client's: the upstream gets both, $http_cookie joins them, $cookie_b finds it
--- http_config
    wasm_plugin hostcalls ../../t/plugins/hostcalls.wasm;
--- config
    location /t {
        proxy_wasm hostcalls '{"on_request_headers":[{"op":"add","map":"request_headers","key":"cookie","value":"b=2"}]}';
        proxy_set_header X-Vars "http_cookie=[$http_cookie] a=[$cookie_a] b=[$cookie_b]";
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/echo;
    }
    location = /echo {
        content_by_lua_block {
            -- the Cookie lines the upstream received, then what nginx's cookie variables said on the proxy side
            for line in ngx.req.raw_header(true):gmatch("([^\r\n]*)\r\n") do
                if line:lower():match("^cookie:") then
                    ngx.say(line)
                end
            end
            ngx.say(ngx.var.http_x_vars)
        }
    }
--- request
GET /t
--- more_headers
Cookie: a=1
--- response_body
Cookie: a=1
cookie: b=2
http_cookie=[a=1; b=2] a=[1] b=[2]
--- no_error_log
[error]
[alert]
[crit]



=== TEST 2: directives: a cookie added to a request without one
--- http_config
    wasm_plugin hostcalls ../../t/plugins/hostcalls.wasm;
--- config
    location /t {
        proxy_wasm hostcalls '{"on_request_headers":[{"op":"add","map":"request_headers","key":"cookie","value":"b=2"}]}';
        proxy_set_header X-Vars "http_cookie=[$http_cookie] a=[$cookie_a] b=[$cookie_b]";
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/echo;
    }
    location = /echo {
        content_by_lua_block {
            -- the Cookie lines the upstream received, then what nginx's cookie variables said on the proxy side
            for line in ngx.req.raw_header(true):gmatch("([^\r\n]*)\r\n") do
                if line:lower():match("^cookie:") then
                    ngx.say(line)
                end
            end
            ngx.say(ngx.var.http_x_vars)
        }
    }
--- request
GET /t
--- more_headers
X-A: 1
--- response_body
cookie: b=2
http_cookie=[b=2] a=[] b=[2]
--- no_error_log
[error]
[alert]
[crit]



=== TEST 3: directives: two cookies added after the client's two: all four, in order
--- http_config
    wasm_plugin hostcalls ../../t/plugins/hostcalls.wasm;
--- config
    location /t {
        proxy_wasm hostcalls '{"on_request_headers":[{"op":"add","map":"request_headers","key":"cookie","value":"b=2"},{"op":"add","map":"request_headers","key":"cookie","value":"d=4"}]}';
        proxy_set_header X-Vars "http_cookie=[$http_cookie] a=[$cookie_a] b=[$cookie_b]";
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/echo;
    }
    location = /echo {
        content_by_lua_block {
            -- the Cookie lines the upstream received, then what nginx's cookie variables said on the proxy side
            for line in ngx.req.raw_header(true):gmatch("([^\r\n]*)\r\n") do
                if line:lower():match("^cookie:") then
                    ngx.say(line)
                end
            end
            ngx.say(ngx.var.http_x_vars)
        }
    }
--- request
GET /t
--- more_headers
Cookie: a=1
X-A: 1
Cookie: c=3
--- response_body
Cookie: a=1
Cookie: c=3
cookie: b=2
cookie: d=4
http_cookie=[a=1; c=3; b=2; d=4] a=[1] b=[2]
--- no_error_log
[error]
[alert]
[crit]



=== TEST 4: directives: the client's two cookies replaced by one: only the new one anywhere
--- http_config
    wasm_plugin hostcalls ../../t/plugins/hostcalls.wasm;
--- config
    location /t {
        proxy_wasm hostcalls '{"on_request_headers":[{"op":"replace","map":"request_headers","key":"cookie","value":"b=2"}]}';
        proxy_set_header X-Vars "http_cookie=[$http_cookie] a=[$cookie_a] b=[$cookie_b]";
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/echo;
    }
    location = /echo {
        content_by_lua_block {
            -- the Cookie lines the upstream received, then what nginx's cookie variables said on the proxy side
            for line in ngx.req.raw_header(true):gmatch("([^\r\n]*)\r\n") do
                if line:lower():match("^cookie:") then
                    ngx.say(line)
                end
            end
            ngx.say(ngx.var.http_x_vars)
        }
    }
--- request
GET /t
--- more_headers
Cookie: a=1
X-A: 1
Cookie: c=3
--- response_body
cookie: b=2
http_cookie=[b=2] a=[] b=[2]
--- no_error_log
[error]
[alert]
[crit]



=== TEST 5: directives: the client's cookies removed: none reaches the upstream, the variables are empty
--- http_config
    wasm_plugin hostcalls ../../t/plugins/hostcalls.wasm;
--- config
    location /t {
        proxy_wasm hostcalls '{"on_request_headers":[{"op":"remove","map":"request_headers","key":"cookie"}]}';
        proxy_set_header X-Vars "http_cookie=[$http_cookie] a=[$cookie_a] b=[$cookie_b]";
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/echo;
    }
    location = /echo {
        content_by_lua_block {
            -- the Cookie lines the upstream received, then what nginx's cookie variables said on the proxy side
            for line in ngx.req.raw_header(true):gmatch("([^\r\n]*)\r\n") do
                if line:lower():match("^cookie:") then
                    ngx.say(line)
                end
            end
            ngx.say(ngx.var.http_x_vars)
        }
    }
--- request
GET /t
--- more_headers
Cookie: a=1
X-A: 1
Cookie: c=3
--- response_body
http_cookie=[] a=[] b=[]
--- no_error_log
[error]
[alert]
[crit]



=== TEST 6: directives: cookies removed, then two added: the variables see only the new ones
--- http_config
    wasm_plugin hostcalls ../../t/plugins/hostcalls.wasm;
--- config
    location /t {
        proxy_wasm hostcalls '{"on_request_headers":[{"op":"remove","map":"request_headers","key":"cookie"},{"op":"add","map":"request_headers","key":"cookie","value":"a=9"},{"op":"add","map":"request_headers","key":"cookie","value":"b=8"}]}';
        proxy_set_header X-Vars "http_cookie=[$http_cookie] a=[$cookie_a] b=[$cookie_b]";
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/echo;
    }
    location = /echo {
        content_by_lua_block {
            -- the Cookie lines the upstream received, then what nginx's cookie variables said on the proxy side
            for line in ngx.req.raw_header(true):gmatch("([^\r\n]*)\r\n") do
                if line:lower():match("^cookie:") then
                    ngx.say(line)
                end
            end
            ngx.say(ngx.var.http_x_vars)
        }
    }
--- request
GET /t
--- more_headers
Cookie: a=1
Cookie: b=1
--- response_body
cookie: a=9
cookie: b=8
http_cookie=[a=9; b=8] a=[9] b=[8]
--- no_error_log
[error]
[alert]
[crit]



=== TEST 7: Lua: a cookie added beside the client's: the upstream gets both, $http_cookie joins them, $cookie_b finds it
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("hostcalls", "t/plugins/hostcalls.wasm"))
        package.loaded.ctx = assert(wasm.on_configure(plugin, [=[{"on_request_headers":[{"op":"add","map":"request_headers","key":"cookie","value":"b=2"}]}]=]))
    }
--- config
    location /t {
        access_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            assert(wasm.on_http_request_headers(package.loaded.ctx))
        }
        proxy_set_header X-Vars "http_cookie=[$http_cookie] a=[$cookie_a] b=[$cookie_b]";
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/echo;
    }
    location = /echo {
        content_by_lua_block {
            -- the Cookie lines the upstream received, then what nginx's cookie variables said on the proxy side
            for line in ngx.req.raw_header(true):gmatch("([^\r\n]*)\r\n") do
                if line:lower():match("^cookie:") then
                    ngx.say(line)
                end
            end
            ngx.say(ngx.var.http_x_vars)
        }
    }
--- request
GET /t
--- more_headers
Cookie: a=1
--- response_body
Cookie: a=1
cookie: b=2
http_cookie=[a=1; b=2] a=[1] b=[2]
--- no_error_log
[error]
[alert]
[crit]



=== TEST 8: Lua: a cookie added to a request without one
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("hostcalls", "t/plugins/hostcalls.wasm"))
        package.loaded.ctx = assert(wasm.on_configure(plugin, [=[{"on_request_headers":[{"op":"add","map":"request_headers","key":"cookie","value":"b=2"}]}]=]))
    }
--- config
    location /t {
        access_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            assert(wasm.on_http_request_headers(package.loaded.ctx))
        }
        proxy_set_header X-Vars "http_cookie=[$http_cookie] a=[$cookie_a] b=[$cookie_b]";
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/echo;
    }
    location = /echo {
        content_by_lua_block {
            -- the Cookie lines the upstream received, then what nginx's cookie variables said on the proxy side
            for line in ngx.req.raw_header(true):gmatch("([^\r\n]*)\r\n") do
                if line:lower():match("^cookie:") then
                    ngx.say(line)
                end
            end
            ngx.say(ngx.var.http_x_vars)
        }
    }
--- request
GET /t
--- more_headers
X-A: 1
--- response_body
cookie: b=2
http_cookie=[b=2] a=[] b=[2]
--- no_error_log
[error]
[alert]
[crit]



=== TEST 9: Lua: two cookies added after the client's two: all four, in order
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("hostcalls", "t/plugins/hostcalls.wasm"))
        package.loaded.ctx = assert(wasm.on_configure(plugin, [=[{"on_request_headers":[{"op":"add","map":"request_headers","key":"cookie","value":"b=2"},{"op":"add","map":"request_headers","key":"cookie","value":"d=4"}]}]=]))
    }
--- config
    location /t {
        access_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            assert(wasm.on_http_request_headers(package.loaded.ctx))
        }
        proxy_set_header X-Vars "http_cookie=[$http_cookie] a=[$cookie_a] b=[$cookie_b]";
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/echo;
    }
    location = /echo {
        content_by_lua_block {
            -- the Cookie lines the upstream received, then what nginx's cookie variables said on the proxy side
            for line in ngx.req.raw_header(true):gmatch("([^\r\n]*)\r\n") do
                if line:lower():match("^cookie:") then
                    ngx.say(line)
                end
            end
            ngx.say(ngx.var.http_x_vars)
        }
    }
--- request
GET /t
--- more_headers
Cookie: a=1
X-A: 1
Cookie: c=3
--- response_body
Cookie: a=1
Cookie: c=3
cookie: b=2
cookie: d=4
http_cookie=[a=1; c=3; b=2; d=4] a=[1] b=[2]
--- no_error_log
[error]
[alert]
[crit]



=== TEST 10: Lua: the client's two cookies replaced by one: only the new one anywhere
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("hostcalls", "t/plugins/hostcalls.wasm"))
        package.loaded.ctx = assert(wasm.on_configure(plugin, [=[{"on_request_headers":[{"op":"replace","map":"request_headers","key":"cookie","value":"b=2"}]}]=]))
    }
--- config
    location /t {
        access_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            assert(wasm.on_http_request_headers(package.loaded.ctx))
        }
        proxy_set_header X-Vars "http_cookie=[$http_cookie] a=[$cookie_a] b=[$cookie_b]";
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/echo;
    }
    location = /echo {
        content_by_lua_block {
            -- the Cookie lines the upstream received, then what nginx's cookie variables said on the proxy side
            for line in ngx.req.raw_header(true):gmatch("([^\r\n]*)\r\n") do
                if line:lower():match("^cookie:") then
                    ngx.say(line)
                end
            end
            ngx.say(ngx.var.http_x_vars)
        }
    }
--- request
GET /t
--- more_headers
Cookie: a=1
X-A: 1
Cookie: c=3
--- response_body
cookie: b=2
http_cookie=[b=2] a=[] b=[2]
--- no_error_log
[error]
[alert]
[crit]



=== TEST 11: Lua: the client's cookies removed: none reaches the upstream, the variables are empty
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("hostcalls", "t/plugins/hostcalls.wasm"))
        package.loaded.ctx = assert(wasm.on_configure(plugin, [=[{"on_request_headers":[{"op":"remove","map":"request_headers","key":"cookie"}]}]=]))
    }
--- config
    location /t {
        access_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            assert(wasm.on_http_request_headers(package.loaded.ctx))
        }
        proxy_set_header X-Vars "http_cookie=[$http_cookie] a=[$cookie_a] b=[$cookie_b]";
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/echo;
    }
    location = /echo {
        content_by_lua_block {
            -- the Cookie lines the upstream received, then what nginx's cookie variables said on the proxy side
            for line in ngx.req.raw_header(true):gmatch("([^\r\n]*)\r\n") do
                if line:lower():match("^cookie:") then
                    ngx.say(line)
                end
            end
            ngx.say(ngx.var.http_x_vars)
        }
    }
--- request
GET /t
--- more_headers
Cookie: a=1
X-A: 1
Cookie: c=3
--- response_body
http_cookie=[] a=[] b=[]
--- no_error_log
[error]
[alert]
[crit]



=== TEST 12: Lua: cookies removed, then two added: the variables see only the new ones
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("hostcalls", "t/plugins/hostcalls.wasm"))
        package.loaded.ctx = assert(wasm.on_configure(plugin, [=[{"on_request_headers":[{"op":"remove","map":"request_headers","key":"cookie"},{"op":"add","map":"request_headers","key":"cookie","value":"a=9"},{"op":"add","map":"request_headers","key":"cookie","value":"b=8"}]}]=]))
    }
--- config
    location /t {
        access_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            assert(wasm.on_http_request_headers(package.loaded.ctx))
        }
        proxy_set_header X-Vars "http_cookie=[$http_cookie] a=[$cookie_a] b=[$cookie_b]";
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/echo;
    }
    location = /echo {
        content_by_lua_block {
            -- the Cookie lines the upstream received, then what nginx's cookie variables said on the proxy side
            for line in ngx.req.raw_header(true):gmatch("([^\r\n]*)\r\n") do
                if line:lower():match("^cookie:") then
                    ngx.say(line)
                end
            end
            ngx.say(ngx.var.http_x_vars)
        }
    }
--- request
GET /t
--- more_headers
Cookie: a=1
Cookie: b=1
--- response_body
cookie: a=9
cookie: b=8
http_cookie=[a=9; b=8] a=[9] b=[8]
--- no_error_log
[error]
[alert]
[crit]
