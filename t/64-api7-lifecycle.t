# What api7/wasm-nginx-module's own tests check of plugin and context lifetimes, metrics and the WASI sandbox
# (its metric.t, http_lifecycle.t and plugin_lifecycle.t), done here with our test plugin t/plugins/hostcalls
# through resty.proxy-wasm. Where this host answers otherwise than api7's, the block says so (README,
# "Compatibility with api7/wasm-nginx-module").
use Test::Nginx::Socket::Lua 'no_plan';

log_level('info');
no_shuffle();
run_tests();

__DATA__

=== TEST 1: a counter and a histogram under one name, from an HTTP context: both defined and updated; Lua reads the counter
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("hostcalls", "t/plugins/hostcalls.wasm"))
        package.loaded.ctx = assert(wasm.on_configure(plugin, [=[{"on_request_headers": [
            {"op": "define_metric", "kind": "counter", "name": "test"},
            {"op": "increment_metric", "kind": "counter", "name": "test", "by": 5},
            {"op": "define_metric", "kind": "histogram", "name": "test"},
            {"op": "record_metric", "kind": "histogram", "name": "test", "value": 1},
            {"op": "get_metric", "kind": "counter", "name": "test"},
            {"op": "get_metric", "kind": "histogram", "name": "test"}]}]=]))
    }
--- config
    location /t {
        access_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            assert(wasm.on_http_request_headers(package.loaded.ctx))
        }
        content_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            ngx.say(wasm.get_metric("test"))
            for line in wasm.metrics():gmatch("[^\n]+") do
                if line:find("^# TYPE test ") or line:find("^test ") or line:find("^test_count ") then
                    ngx.say(line)
                end
            end
        }
    }
--- request
GET /t
--- response_body
5
# TYPE test counter
test 5
# TYPE test histogram
test_count 1
--- grep_error_log eval: qr/_metric \w+ "test" [^,]*/
--- grep_error_log_out eval
qr/^_metric counter "test" -> Ok id=\d+
_metric counter "test" by 5 -> Ok
_metric histogram "test" -> Ok id=\d+
_metric histogram "test" 1 -> Ok
_metric counter "test" -> Ok 5
_metric histogram "test" -> BadArgument
$/
--- no_error_log
[error]
[alert]
[crit]



=== TEST 2: one HTTP context per request and plugin ctx, however often Lua enters it
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("hostcalls", "t/plugins/hostcalls.wasm"))
        package.loaded.ctx = assert(wasm.on_configure(plugin, [=[{
            "on_request_headers": [{"op": "context_id"}],
            "on_response_headers": [{"op": "context_id"}]}]=]))
    }
--- config
    location /t {
        access_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            assert(wasm.on_http_request_headers(package.loaded.ctx))
            assert(wasm.on_http_request_headers(package.loaded.ctx))
        }
        content_by_lua_block { ngx.say("content") }
        header_filter_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            assert(wasm.on_http_response_headers(package.loaded.ctx))
        }
    }
--- request
GET /t
--- response_body
content
--- grep_error_log eval: qr/on_\w+_headers: context_id=\d+ root_id=\d+/
--- grep_error_log_out
on_request_headers: context_id=2 root_id=1
on_request_headers: context_id=2 root_id=1
on_response_headers: context_id=2 root_id=1
--- no_error_log
[error]
[alert]
[crit]



=== TEST 3: two plugin ctxs of one plugin in one request: each its own HTTP context, each reads its own configuration
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("hostcalls", "t/plugins/hostcalls.wasm"))
        local steps = [=["on_request_headers": [{"op": "context_id"}, {"op": "get_body", "buffer": "plugin_configuration", "max": 12}]]=]
        package.loaded.a = assert(wasm.on_configure(plugin, '{"on_log": [], ' .. steps .. '}'))
        package.loaded.b = assert(wasm.on_configure(plugin, '{' .. steps .. '}'))
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
--- grep_error_log eval: qr/on_request_headers: (context_id|get_body)[^,]*/
--- grep_error_log_out
on_request_headers: context_id=3 root_id=1
on_request_headers: get_body plugin_configuration -> Ok "{\"on_log\": ["
on_request_headers: context_id=4 root_id=2
on_request_headers: get_body plugin_configuration -> Ok "{\"on_request"
--- no_error_log
[error]
[alert]
[crit]



=== TEST 4: two loads of one file are two plugins: each numbers its own contexts from 1 and runs on the same request
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local conf = [=[{"on_request_headers": [{"op": "context_id"}]}]=]
        local one = assert(wasm.load("one", "t/plugins/hostcalls.wasm"))
        local two = assert(wasm.load("two", "t/plugins/hostcalls.wasm"))
        package.loaded.a = assert(wasm.on_configure(one, conf))
        package.loaded.b = assert(wasm.on_configure(two, conf))
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
--- grep_error_log eval: qr/wasm plugin "\w+": hostcalls: on_request_headers: context_id=\d+ root_id=\d+/
--- grep_error_log_out
wasm plugin "one": hostcalls: on_request_headers: context_id=2 root_id=1
wasm plugin "two": hostcalls: on_request_headers: context_id=2 root_id=1
--- no_error_log
[error]
[alert]
[crit]



=== TEST 5: three loads of one file in one handler, each configured and run
--- http_config
    lua_package_path "lua/?.lua;;";
--- config
    location /t {
        content_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            for i = 1, 3 do
                local plugin = assert(wasm.load("p" .. i, "t/plugins/hostcalls.wasm"))
                local ctx = assert(wasm.on_configure(plugin, [=[{"on_request_headers": [{"op": "log", "msg": "run"}]}]=]))
                assert(wasm.on_http_request_headers(ctx))
            end
            ngx.say("loaded three times")
        }
    }
--- request
GET /t
--- response_body
loaded three times
--- grep_error_log eval: qr/wasm plugin "p\d": hostcalls: on_request_headers: run/
--- grep_error_log_out
wasm plugin "p1": hostcalls: on_request_headers: run
wasm plugin "p2": hostcalls: on_request_headers: run
wasm plugin "p3": hostcalls: on_request_headers: run
--- no_error_log
[error]
[alert]
[crit]



=== TEST 6: a plugin ctx freed by Lua's GC gets proxy_on_done, even when that answers false; new ctxs get new ids (api7 reuses freed ones)
--- http_config
    lua_package_path "lua/?.lua;;";
--- config
    location /t {
        content_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            local plugin = assert(wasm.load("hostcalls", "t/plugins/hostcalls.wasm"))
            local conf = [=[{"on_configure": [{"op": "context_id"}], "on_done": [{"op": "log", "msg": "bye"}], "done_result": false}]=]
            local a = assert(wasm.on_configure(plugin, conf))
            local b = assert(wasm.on_configure(plugin, conf))
            a, b = nil, nil
            collectgarbage()
            collectgarbage()
            ngx.log(ngx.INFO, "collected")
            local c = assert(wasm.on_configure(plugin, conf))
            ngx.say("ok")
        }
    }
--- request
GET /t
--- response_body
ok
--- grep_error_log eval: qr/hostcalls: on_configure: root_id=\d+|collected/
--- grep_error_log_out
hostcalls: on_configure: root_id=1
hostcalls: on_configure: root_id=2
collected
hostcalls: on_configure: root_id=3
--- error_log
hostcalls: root on_done root_id=1
hostcalls: root on_done root_id=2
hostcalls: on_done: bye
--- no_error_log
root on_done root_id=3
[error]
[alert]
[crit]



=== TEST 7: the plugin object may go while a ctx of it lives: the ctx still serves requests, and no proxy_on_done runs
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("hostcalls", "t/plugins/hostcalls.wasm"))
        package.loaded.ctx = assert(wasm.on_configure(plugin, [=[{"on_request_headers": [{"op": "log", "msg": "still here"}], "on_done": [{"op": "log", "msg": "gone"}]}]=]))
        plugin = nil
        collectgarbage()
        collectgarbage()
    }
--- config
    location /t {
        access_by_lua_block {
            collectgarbage()
            local wasm = require("resty.proxy-wasm")
            assert(wasm.on_http_request_headers(package.loaded.ctx))
        }
        content_by_lua_block { ngx.say("content") }
    }
--- request
GET /t
--- response_body
content
--- error_log
hostcalls: on_request_headers: still here
--- no_error_log
root on_done
[error]
[alert]
[crit]



=== TEST 8: the WASI sandbox: a file write is refused (no directory is opened to plugins), what the plugin writes to stderr is an [error] line (api7 writes raw text), and the plugin goes on
--- http_config
    lua_package_path "lua/?.lua;;";
--- config
    location /t {
        content_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            local plugin = assert(wasm.load("hostcalls", "t/plugins/hostcalls.wasm"))
            local ctx = assert(wasm.on_configure(plugin, [=[{
                "on_configure": [{"op": "write_file", "path": "/tmp/proxy-wasm-sandbox", "data": "x"},
                                 {"op": "stderr", "msg": "writeFile failed"}],
                "on_request_headers": [{"op": "log", "msg": "after the refusal"}]}]=]))
            assert(wasm.on_http_request_headers(ctx))
            local f = io.open("/tmp/proxy-wasm-sandbox")
            ngx.say(f and "written" or "not written")
        }
    }
--- request
GET /t
--- response_body
not written
--- error_log eval
[
qr/hostcalls: on_configure: write_file "\/tmp\/proxy-wasm-sandbox" -> Err No such file or directory/,
qr/\[error\] .*wasm plugin "hostcalls": writeFile failed/,
"hostcalls: on_request_headers: after the refusal",
]
--- grep_error_log eval: qr/\[error\]/
--- grep_error_log_out
[error]
--- no_error_log
[alert]
[crit]
