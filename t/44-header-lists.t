# Request header lists after a plugin's changes: nginx's list walkers (the proxy module building the upstream
# request) must see exactly the headers the plugin left, in order, whatever part of the list a change touched;
# and a plugin's change to the framing headers never changes how nginx reads the client's body (no smuggling).
# Both entrances. Plugin: t/plugins/hostcalls (config-driven).
use Test::Nginx::Socket::Lua 'no_plan';

log_level('info');
no_shuffle();
run_tests();

__DATA__

=== TEST 1: directives: removing a header in the middle of the list; the upstream gets the others, in order
--- http_config
    wasm_plugin hostcalls ../../t/plugins/hostcalls.wasm;
--- config
    location /t {
        proxy_wasm hostcalls '{"on_request_headers":[{"op":"remove","map":"request_headers","key":"x-remove-me"}]}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/echo;
    }
    location = /echo {
        content_by_lua_block {
            -- every header line the upstream received, but the proxy's own Host and Connection
            for line in ngx.req.raw_header(true):gmatch("([^\r\n]*)\r\n") do
                local l = line:lower()
                if not line:match("^%u+ /") and not l:match("^host:") and not l:match("^connection:") and line ~= "" then
                    ngx.say(line)
                end
            end
        }
    }
--- request
GET /t
--- more_headers
X-A: 1
X-Remove-Me: gone
X-B: 2
--- response_body
X-A: 1
X-B: 2
--- no_error_log
[error]
[alert]
[crit]



=== TEST 2: directives: a repeated header removed where it is first, in the middle and last
--- http_config
    wasm_plugin hostcalls ../../t/plugins/hostcalls.wasm;
--- config
    location /t {
        proxy_wasm hostcalls '{"on_request_headers":[{"op":"remove","map":"request_headers","key":"x-remove-me"}]}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/echo;
    }
    location = /echo {
        content_by_lua_block {
            -- every header line the upstream received, but the proxy's own Host and Connection
            for line in ngx.req.raw_header(true):gmatch("([^\r\n]*)\r\n") do
                local l = line:lower()
                if not line:match("^%u+ /") and not l:match("^host:") and not l:match("^connection:") and line ~= "" then
                    ngx.say(line)
                end
            end
        }
    }
--- request
GET /t
--- more_headers
X-Remove-Me: a
X-A: 1
X-Remove-Me: b
X-B: 2
X-Remove-Me: c
--- response_body
X-A: 1
X-B: 2
--- no_error_log
[error]
[alert]
[crit]



=== TEST 3: directives: the last header removed, then two added: both reach the upstream after the others
--- http_config
    wasm_plugin hostcalls ../../t/plugins/hostcalls.wasm;
--- config
    location /t {
        proxy_wasm hostcalls '{"on_request_headers":[{"op":"remove","map":"request_headers","key":"x-last"},{"op":"add","map":"request_headers","key":"x-new-1","value":"a"},{"op":"add","map":"request_headers","key":"x-new-2","value":"b"}]}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/echo;
    }
    location = /echo {
        content_by_lua_block {
            -- every header line the upstream received, but the proxy's own Host and Connection
            for line in ngx.req.raw_header(true):gmatch("([^\r\n]*)\r\n") do
                local l = line:lower()
                if not line:match("^%u+ /") and not l:match("^host:") and not l:match("^connection:") and line ~= "" then
                    ngx.say(line)
                end
            end
        }
    }
--- request
GET /t
--- more_headers
X-A: 1
X-Last: z
--- response_body
X-A: 1
x-new-1: a
x-new-2: b
--- no_error_log
[error]
[alert]
[crit]



=== TEST 4: directives: replacing a header in the middle moves it to the end with the new value
--- http_config
    wasm_plugin hostcalls ../../t/plugins/hostcalls.wasm;
--- config
    location /t {
        proxy_wasm hostcalls '{"on_request_headers":[{"op":"replace","map":"request_headers","key":"x-mid","value":"new"}]}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/echo;
    }
    location = /echo {
        content_by_lua_block {
            -- every header line the upstream received, but the proxy's own Host and Connection
            for line in ngx.req.raw_header(true):gmatch("([^\r\n]*)\r\n") do
                local l = line:lower()
                if not line:match("^%u+ /") and not l:match("^host:") and not l:match("^connection:") and line ~= "" then
                    ngx.say(line)
                end
            end
        }
    }
--- request
GET /t
--- more_headers
X-A: 1
X-Mid: old
X-B: 2
--- response_body
X-A: 1
X-B: 2
x-mid: new
--- no_error_log
[error]
[alert]
[crit]



=== TEST 5: directives: a list of two parts: headers removed first, at the end of the first part, first of the second and last, then added
--- http_config
    wasm_plugin hostcalls ../../t/plugins/hostcalls.wasm;
--- config
    location /t {
        proxy_wasm hostcalls '{"on_request_headers":[{"op":"remove","map":"request_headers","key":"x-h01"},{"op":"remove","map":"request_headers","key":"x-h18"},{"op":"remove","map":"request_headers","key":"x-h19"},{"op":"remove","map":"request_headers","key":"x-h30"},{"op":"add","map":"request_headers","key":"x-new-1","value":"a"},{"op":"add","map":"request_headers","key":"x-new-2","value":"b"}]}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/echo;
    }
    location = /echo {
        content_by_lua_block {
            -- every header line the upstream received, but the proxy's own Host and Connection
            for line in ngx.req.raw_header(true):gmatch("([^\r\n]*)\r\n") do
                local l = line:lower()
                if not line:match("^%u+ /") and not l:match("^host:") and not l:match("^connection:") and line ~= "" then
                    ngx.say(line)
                end
            end
        }
    }
--- request
GET /t
--- more_headers
X-H01: 1
X-H02: 2
X-H03: 3
X-H04: 4
X-H05: 5
X-H06: 6
X-H07: 7
X-H08: 8
X-H09: 9
X-H10: 10
X-H11: 11
X-H12: 12
X-H13: 13
X-H14: 14
X-H15: 15
X-H16: 16
X-H17: 17
X-H18: 18
X-H19: 19
X-H20: 20
X-H21: 21
X-H22: 22
X-H23: 23
X-H24: 24
X-H25: 25
X-H26: 26
X-H27: 27
X-H28: 28
X-H29: 29
X-H30: 30
--- response_body
X-H02: 2
X-H03: 3
X-H04: 4
X-H05: 5
X-H06: 6
X-H07: 7
X-H08: 8
X-H09: 9
X-H10: 10
X-H11: 11
X-H12: 12
X-H13: 13
X-H14: 14
X-H15: 15
X-H16: 16
X-H17: 17
X-H20: 20
X-H21: 21
X-H22: 22
X-H23: 23
X-H24: 24
X-H25: 25
X-H26: 26
X-H27: 27
X-H28: 28
X-H29: 29
x-new-1: a
x-new-2: b
--- no_error_log
[error]
[alert]
[crit]



=== TEST 6: directives: every header of the second part removed, then one added
--- http_config
    wasm_plugin hostcalls ../../t/plugins/hostcalls.wasm;
--- config
    location /t {
        proxy_wasm hostcalls '{"on_request_headers":[{"op":"remove","map":"request_headers","key":"x-h19"},{"op":"remove","map":"request_headers","key":"x-h20"},{"op":"remove","map":"request_headers","key":"x-h21"},{"op":"remove","map":"request_headers","key":"x-h22"},{"op":"remove","map":"request_headers","key":"x-h23"},{"op":"remove","map":"request_headers","key":"x-h24"},{"op":"remove","map":"request_headers","key":"x-h25"},{"op":"remove","map":"request_headers","key":"x-h26"},{"op":"remove","map":"request_headers","key":"x-h27"},{"op":"remove","map":"request_headers","key":"x-h28"},{"op":"remove","map":"request_headers","key":"x-h29"},{"op":"remove","map":"request_headers","key":"x-h30"},{"op":"add","map":"request_headers","key":"x-new","value":"a"}]}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/echo;
    }
    location = /echo {
        content_by_lua_block {
            -- every header line the upstream received, but the proxy's own Host and Connection
            for line in ngx.req.raw_header(true):gmatch("([^\r\n]*)\r\n") do
                local l = line:lower()
                if not line:match("^%u+ /") and not l:match("^host:") and not l:match("^connection:") and line ~= "" then
                    ngx.say(line)
                end
            end
        }
    }
--- request
GET /t
--- more_headers
X-H01: 1
X-H02: 2
X-H03: 3
X-H04: 4
X-H05: 5
X-H06: 6
X-H07: 7
X-H08: 8
X-H09: 9
X-H10: 10
X-H11: 11
X-H12: 12
X-H13: 13
X-H14: 14
X-H15: 15
X-H16: 16
X-H17: 17
X-H18: 18
X-H19: 19
X-H20: 20
X-H21: 21
X-H22: 22
X-H23: 23
X-H24: 24
X-H25: 25
X-H26: 26
X-H27: 27
X-H28: 28
X-H29: 29
X-H30: 30
--- response_body
X-H01: 1
X-H02: 2
X-H03: 3
X-H04: 4
X-H05: 5
X-H06: 6
X-H07: 7
X-H08: 8
X-H09: 9
X-H10: 10
X-H11: 11
X-H12: 12
X-H13: 13
X-H14: 14
X-H15: 15
X-H16: 16
X-H17: 17
X-H18: 18
x-new: a
--- no_error_log
[error]
[alert]
[crit]



=== TEST 7: directives: every header removed (Host and Connection too), then two added
--- http_config
    wasm_plugin hostcalls ../../t/plugins/hostcalls.wasm;
--- config
    location /t {
        proxy_wasm hostcalls '{"on_request_headers":[{"op":"remove","map":"request_headers","key":"host"},{"op":"remove","map":"request_headers","key":"connection"},{"op":"remove","map":"request_headers","key":"x-h01"},{"op":"remove","map":"request_headers","key":"x-h02"},{"op":"remove","map":"request_headers","key":"x-h03"},{"op":"remove","map":"request_headers","key":"x-h04"},{"op":"remove","map":"request_headers","key":"x-h05"},{"op":"remove","map":"request_headers","key":"x-h06"},{"op":"remove","map":"request_headers","key":"x-h07"},{"op":"remove","map":"request_headers","key":"x-h08"},{"op":"remove","map":"request_headers","key":"x-h09"},{"op":"remove","map":"request_headers","key":"x-h10"},{"op":"remove","map":"request_headers","key":"x-h11"},{"op":"remove","map":"request_headers","key":"x-h12"},{"op":"remove","map":"request_headers","key":"x-h13"},{"op":"remove","map":"request_headers","key":"x-h14"},{"op":"remove","map":"request_headers","key":"x-h15"},{"op":"remove","map":"request_headers","key":"x-h16"},{"op":"remove","map":"request_headers","key":"x-h17"},{"op":"remove","map":"request_headers","key":"x-h18"},{"op":"remove","map":"request_headers","key":"x-h19"},{"op":"remove","map":"request_headers","key":"x-h20"},{"op":"remove","map":"request_headers","key":"x-h21"},{"op":"remove","map":"request_headers","key":"x-h22"},{"op":"remove","map":"request_headers","key":"x-h23"},{"op":"remove","map":"request_headers","key":"x-h24"},{"op":"remove","map":"request_headers","key":"x-h25"},{"op":"remove","map":"request_headers","key":"x-h26"},{"op":"remove","map":"request_headers","key":"x-h27"},{"op":"remove","map":"request_headers","key":"x-h28"},{"op":"remove","map":"request_headers","key":"x-h29"},{"op":"remove","map":"request_headers","key":"x-h30"},{"op":"add","map":"request_headers","key":"x-only","value":"1"},{"op":"add","map":"request_headers","key":"x-also","value":"2"}]}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/echo;
    }
    location = /echo {
        content_by_lua_block {
            -- every header line the upstream received, but the proxy's own Host and Connection
            for line in ngx.req.raw_header(true):gmatch("([^\r\n]*)\r\n") do
                local l = line:lower()
                if not line:match("^%u+ /") and not l:match("^host:") and not l:match("^connection:") and line ~= "" then
                    ngx.say(line)
                end
            end
        }
    }
--- request
GET /t
--- more_headers
X-H01: 1
X-H02: 2
X-H03: 3
X-H04: 4
X-H05: 5
X-H06: 6
X-H07: 7
X-H08: 8
X-H09: 9
X-H10: 10
X-H11: 11
X-H12: 12
X-H13: 13
X-H14: 14
X-H15: 15
X-H16: 16
X-H17: 17
X-H18: 18
X-H19: 19
X-H20: 20
X-H21: 21
X-H22: 22
X-H23: 23
X-H24: 24
X-H25: 25
X-H26: 26
X-H27: 27
X-H28: 28
X-H29: 29
X-H30: 30
--- response_body
x-only: 1
x-also: 2
--- no_error_log
[error]
[alert]
[crit]



=== TEST 8: directives: a removal in the last part followed by 25 additions (new parts)
--- http_config
    wasm_plugin hostcalls ../../t/plugins/hostcalls.wasm;
--- config
    location /t {
        proxy_wasm hostcalls '{"on_request_headers":[{"op":"remove","map":"request_headers","key":"x-b"},{"op":"add","map":"request_headers","key":"x-add-01","value":"1"},{"op":"add","map":"request_headers","key":"x-add-02","value":"2"},{"op":"add","map":"request_headers","key":"x-add-03","value":"3"},{"op":"add","map":"request_headers","key":"x-add-04","value":"4"},{"op":"add","map":"request_headers","key":"x-add-05","value":"5"},{"op":"add","map":"request_headers","key":"x-add-06","value":"6"},{"op":"add","map":"request_headers","key":"x-add-07","value":"7"},{"op":"add","map":"request_headers","key":"x-add-08","value":"8"},{"op":"add","map":"request_headers","key":"x-add-09","value":"9"},{"op":"add","map":"request_headers","key":"x-add-10","value":"10"},{"op":"add","map":"request_headers","key":"x-add-11","value":"11"},{"op":"add","map":"request_headers","key":"x-add-12","value":"12"},{"op":"add","map":"request_headers","key":"x-add-13","value":"13"},{"op":"add","map":"request_headers","key":"x-add-14","value":"14"},{"op":"add","map":"request_headers","key":"x-add-15","value":"15"},{"op":"add","map":"request_headers","key":"x-add-16","value":"16"},{"op":"add","map":"request_headers","key":"x-add-17","value":"17"},{"op":"add","map":"request_headers","key":"x-add-18","value":"18"},{"op":"add","map":"request_headers","key":"x-add-19","value":"19"},{"op":"add","map":"request_headers","key":"x-add-20","value":"20"},{"op":"add","map":"request_headers","key":"x-add-21","value":"21"},{"op":"add","map":"request_headers","key":"x-add-22","value":"22"},{"op":"add","map":"request_headers","key":"x-add-23","value":"23"},{"op":"add","map":"request_headers","key":"x-add-24","value":"24"},{"op":"add","map":"request_headers","key":"x-add-25","value":"25"}]}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/echo;
    }
    location = /echo {
        content_by_lua_block {
            -- every header line the upstream received, but the proxy's own Host and Connection
            for line in ngx.req.raw_header(true):gmatch("([^\r\n]*)\r\n") do
                local l = line:lower()
                if not line:match("^%u+ /") and not l:match("^host:") and not l:match("^connection:") and line ~= "" then
                    ngx.say(line)
                end
            end
        }
    }
--- request
GET /t
--- more_headers
X-A: 1
X-B: 2
X-C: 3
--- response_body
X-A: 1
X-C: 3
x-add-01: 1
x-add-02: 2
x-add-03: 3
x-add-04: 4
x-add-05: 5
x-add-06: 6
x-add-07: 7
x-add-08: 8
x-add-09: 9
x-add-10: 10
x-add-11: 11
x-add-12: 12
x-add-13: 13
x-add-14: 14
x-add-15: 15
x-add-16: 16
x-add-17: 17
x-add-18: 18
x-add-19: 19
x-add-20: 20
x-add-21: 21
x-add-22: 22
x-add-23: 23
x-add-24: 24
x-add-25: 25
--- no_error_log
[error]
[alert]
[crit]



=== TEST 9: Lua: a list of two parts: headers removed at the part boundary and last, then added
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("hostcalls", "t/plugins/hostcalls.wasm"))
        package.loaded.ctx = assert(wasm.on_configure(plugin, [=[{"on_request_headers":[{"op":"remove","map":"request_headers","key":"x-h01"},{"op":"remove","map":"request_headers","key":"x-h18"},{"op":"remove","map":"request_headers","key":"x-h19"},{"op":"remove","map":"request_headers","key":"x-h30"},{"op":"add","map":"request_headers","key":"x-new-1","value":"a"},{"op":"add","map":"request_headers","key":"x-new-2","value":"b"}]}]=]))
    }
--- config
    location /t {
        access_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            assert(wasm.on_http_request_headers(package.loaded.ctx))
        }
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/echo;
    }
    location = /echo {
        content_by_lua_block {
            -- every header line the upstream received, but the proxy's own Host and Connection
            for line in ngx.req.raw_header(true):gmatch("([^\r\n]*)\r\n") do
                local l = line:lower()
                if not line:match("^%u+ /") and not l:match("^host:") and not l:match("^connection:") and line ~= "" then
                    ngx.say(line)
                end
            end
        }
    }
--- request
GET /t
--- more_headers
X-H01: 1
X-H02: 2
X-H03: 3
X-H04: 4
X-H05: 5
X-H06: 6
X-H07: 7
X-H08: 8
X-H09: 9
X-H10: 10
X-H11: 11
X-H12: 12
X-H13: 13
X-H14: 14
X-H15: 15
X-H16: 16
X-H17: 17
X-H18: 18
X-H19: 19
X-H20: 20
X-H21: 21
X-H22: 22
X-H23: 23
X-H24: 24
X-H25: 25
X-H26: 26
X-H27: 27
X-H28: 28
X-H29: 29
X-H30: 30
--- response_body
X-H02: 2
X-H03: 3
X-H04: 4
X-H05: 5
X-H06: 6
X-H07: 7
X-H08: 8
X-H09: 9
X-H10: 10
X-H11: 11
X-H12: 12
X-H13: 13
X-H14: 14
X-H15: 15
X-H16: 16
X-H17: 17
X-H20: 20
X-H21: 21
X-H22: 22
X-H23: 23
X-H24: 24
X-H25: 25
X-H26: 26
X-H27: 27
X-H28: 28
X-H29: 29
x-new-1: a
x-new-2: b
--- no_error_log
[error]
[alert]
[crit]



=== TEST 10: Lua: every header removed, then two added
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("hostcalls", "t/plugins/hostcalls.wasm"))
        package.loaded.ctx = assert(wasm.on_configure(plugin, [=[{"on_request_headers":[{"op":"remove","map":"request_headers","key":"host"},{"op":"remove","map":"request_headers","key":"connection"},{"op":"remove","map":"request_headers","key":"x-h01"},{"op":"remove","map":"request_headers","key":"x-h02"},{"op":"remove","map":"request_headers","key":"x-h03"},{"op":"remove","map":"request_headers","key":"x-h04"},{"op":"remove","map":"request_headers","key":"x-h05"},{"op":"remove","map":"request_headers","key":"x-h06"},{"op":"remove","map":"request_headers","key":"x-h07"},{"op":"remove","map":"request_headers","key":"x-h08"},{"op":"remove","map":"request_headers","key":"x-h09"},{"op":"remove","map":"request_headers","key":"x-h10"},{"op":"remove","map":"request_headers","key":"x-h11"},{"op":"remove","map":"request_headers","key":"x-h12"},{"op":"remove","map":"request_headers","key":"x-h13"},{"op":"remove","map":"request_headers","key":"x-h14"},{"op":"remove","map":"request_headers","key":"x-h15"},{"op":"remove","map":"request_headers","key":"x-h16"},{"op":"remove","map":"request_headers","key":"x-h17"},{"op":"remove","map":"request_headers","key":"x-h18"},{"op":"remove","map":"request_headers","key":"x-h19"},{"op":"remove","map":"request_headers","key":"x-h20"},{"op":"remove","map":"request_headers","key":"x-h21"},{"op":"remove","map":"request_headers","key":"x-h22"},{"op":"remove","map":"request_headers","key":"x-h23"},{"op":"remove","map":"request_headers","key":"x-h24"},{"op":"remove","map":"request_headers","key":"x-h25"},{"op":"remove","map":"request_headers","key":"x-h26"},{"op":"remove","map":"request_headers","key":"x-h27"},{"op":"remove","map":"request_headers","key":"x-h28"},{"op":"remove","map":"request_headers","key":"x-h29"},{"op":"remove","map":"request_headers","key":"x-h30"},{"op":"add","map":"request_headers","key":"x-only","value":"1"},{"op":"add","map":"request_headers","key":"x-also","value":"2"}]}]=]))
    }
--- config
    location /t {
        access_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            assert(wasm.on_http_request_headers(package.loaded.ctx))
        }
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/echo;
    }
    location = /echo {
        content_by_lua_block {
            -- every header line the upstream received, but the proxy's own Host and Connection
            for line in ngx.req.raw_header(true):gmatch("([^\r\n]*)\r\n") do
                local l = line:lower()
                if not line:match("^%u+ /") and not l:match("^host:") and not l:match("^connection:") and line ~= "" then
                    ngx.say(line)
                end
            end
        }
    }
--- request
GET /t
--- more_headers
X-H01: 1
X-H02: 2
X-H03: 3
X-H04: 4
X-H05: 5
X-H06: 6
X-H07: 7
X-H08: 8
X-H09: 9
X-H10: 10
X-H11: 11
X-H12: 12
X-H13: 13
X-H14: 14
X-H15: 15
X-H16: 16
X-H17: 17
X-H18: 18
X-H19: 19
X-H20: 20
X-H21: 21
X-H22: 22
X-H23: 23
X-H24: 24
X-H25: 25
X-H26: 26
X-H27: 27
X-H28: 28
X-H29: 29
X-H30: 30
--- response_body
x-only: 1
x-also: 2
--- no_error_log
[error]
[alert]
[crit]



=== TEST 11: directives: a plugin removing Content-Length does not change how nginx reads the body (no smuggling)
--- http_config
    wasm_plugin hostcalls ../../t/plugins/hostcalls.wasm;
--- config
    location = /t {
        proxy_wasm hostcalls '{"on_request_headers":[{"op":"remove","map":"request_headers","key":"content-length"}]}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/echo-body;
    }
    location = /smuggle {
        content_by_lua_block {
            -- three PUTs on one keep-alive connection, each body a complete request of its own
            local inner = "GET /smuggled HTTP/1.1\r\nHost: localhost\r\n\r\n"
            local sock = ngx.socket.tcp()
            assert(sock:connect("127.0.0.1", ngx.var.server_port))
            local req = ""
            for i = 1, 3 do
                req = req .. "PUT /t HTTP/1.1\r\nHost: localhost\r\nContent-Length: " .. #inner .. "\r\n"
                    .. (i == 3 and "Connection: close\r\n" or "") .. "\r\n" .. inner
            end
            assert(sock:send(req))
            local all = sock:receive("*a")
            for status in all:gmatch("HTTP/1%.1 (%d%d%d)") do ngx.say(status) end
            local _, n = all:gsub("body=GET /smuggled", "")
            ngx.say("bodies echoed: ", n)
        }
    }
    location = /smuggled { return 418; }
    location = /echo-body {
        content_by_lua_block {
            ngx.req.read_body()
            ngx.print("body=", ngx.req.get_body_data())
        }
    }
--- request
GET /smuggle
--- response_body
200
200
200
bodies echoed: 3
--- no_error_log
[error]
[alert]
[crit]



=== TEST 12: directives: a plugin setting Content-Length to 0 or adding Transfer-Encoding does not either
--- http_config
    wasm_plugin hostcalls ../../t/plugins/hostcalls.wasm;
--- config
    location = /t {
        proxy_wasm hostcalls '{"on_request_headers":[{"op":"replace","map":"request_headers","key":"content-length","value":"0"},{"op":"add","map":"request_headers","key":"transfer-encoding","value":"chunked"}]}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/echo-body;
    }
    location = /smuggle {
        content_by_lua_block {
            -- three PUTs on one keep-alive connection, each body a complete request of its own
            local inner = "GET /smuggled HTTP/1.1\r\nHost: localhost\r\n\r\n"
            local sock = ngx.socket.tcp()
            assert(sock:connect("127.0.0.1", ngx.var.server_port))
            local req = ""
            for i = 1, 3 do
                req = req .. "PUT /t HTTP/1.1\r\nHost: localhost\r\nContent-Length: " .. #inner .. "\r\n"
                    .. (i == 3 and "Connection: close\r\n" or "") .. "\r\n" .. inner
            end
            assert(sock:send(req))
            local all = sock:receive("*a")
            for status in all:gmatch("HTTP/1%.1 (%d%d%d)") do ngx.say(status) end
            local _, n = all:gsub("body=GET /smuggled", "")
            ngx.say("bodies echoed: ", n)
        }
    }
    location = /smuggled { return 418; }
    location = /echo-body {
        content_by_lua_block {
            ngx.req.read_body()
            ngx.print("body=", ngx.req.get_body_data())
        }
    }
--- request
GET /smuggle
--- response_body
200
200
200
bodies echoed: 3
--- no_error_log
[error]
[alert]
[crit]



=== TEST 13: Lua: a plugin removing Content-Length does not change how nginx reads the body (no smuggling)
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("hostcalls", "t/plugins/hostcalls.wasm"))
        package.loaded.ctx = assert(wasm.on_configure(plugin, [=[{"on_request_headers":[{"op":"remove","map":"request_headers","key":"content-length"}]}]=]))
    }
--- config
    location = /t {
        access_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            assert(wasm.on_http_request_headers(package.loaded.ctx))
        }
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/echo-body;
    }
    location = /smuggle {
        content_by_lua_block {
            -- three PUTs on one keep-alive connection, each body a complete request of its own
            local inner = "GET /smuggled HTTP/1.1\r\nHost: localhost\r\n\r\n"
            local sock = ngx.socket.tcp()
            assert(sock:connect("127.0.0.1", ngx.var.server_port))
            local req = ""
            for i = 1, 3 do
                req = req .. "PUT /t HTTP/1.1\r\nHost: localhost\r\nContent-Length: " .. #inner .. "\r\n"
                    .. (i == 3 and "Connection: close\r\n" or "") .. "\r\n" .. inner
            end
            assert(sock:send(req))
            local all = sock:receive("*a")
            for status in all:gmatch("HTTP/1%.1 (%d%d%d)") do ngx.say(status) end
            local _, n = all:gsub("body=GET /smuggled", "")
            ngx.say("bodies echoed: ", n)
        }
    }
    location = /smuggled { return 418; }
    location = /echo-body {
        content_by_lua_block {
            ngx.req.read_body()
            ngx.print("body=", ngx.req.get_body_data())
        }
    }
--- request
GET /smuggle
--- response_body
200
200
200
bodies echoed: 3
--- no_error_log
[error]
[alert]
[crit]
