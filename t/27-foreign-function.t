# Foreign functions: Lua functions registered by name (proxy_wasm.register_foreign_function) and called by
# plugins with proxy_call_foreign_function through the Lua API (refused, with a log line, on the directive
# path). Plugin: t/plugins/hostcalls (config-driven).
use Test::Nginx::Socket::Lua 'no_plan';

log_level('info');
no_shuffle();
run_tests();

__DATA__

=== TEST 1: a Lua function called by name, with the plugin's arguments; an unknown name is NotFound
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        assert(wasm.register_foreign_function("upper", function(args) return args:upper() .. " " .. ngx.var.uri end))
        assert(wasm.register_foreign_function("empty", function() return "" end))
        local plugin = assert(wasm.load("hostcalls", "t/plugins/hostcalls.wasm"))
        package.loaded.ctx = assert(wasm.on_configure(plugin, [[{"on_request_headers": [
            {"op": "foreign", "name": "upper", "args": "hello wasm"},
            {"op": "foreign", "name": "empty"},
            {"op": "foreign", "name": "missing", "args": "x"}]}]]))
    }
--- config
    location /t {
        access_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            assert(wasm.on_http_request_headers(package.loaded.ctx))
        }
        content_by_lua_block { ngx.say("done") }
    }
--- request
GET /t
--- response_body
done
--- grep_error_log eval: qr/hostcalls: on_request_headers: foreign [^,]*/
--- grep_error_log_out
hostcalls: on_request_headers: foreign "upper" -> Ok "HELLO WASM /t"
hostcalls: on_request_headers: foreign "empty" -> Ok ""
hostcalls: on_request_headers: foreign "missing" -> NotFound
--- no_error_log
[error]
[alert]
[crit]



=== TEST 2: a Lua function that raises an error or returns no string: InternalFailure and a log line
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        assert(wasm.register_foreign_function("boom", function() error("exploded") end))
        assert(wasm.register_foreign_function("number", function() return 42 end))
        local plugin = assert(wasm.load("hostcalls", "t/plugins/hostcalls.wasm"))
        package.loaded.ctx = assert(wasm.on_configure(plugin, [[{"on_request_headers": [
            {"op": "foreign", "name": "boom"},
            {"op": "foreign", "name": "number"}]}]]))
    }
--- config
    location /t {
        access_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            assert(wasm.on_http_request_headers(package.loaded.ctx))
        }
        content_by_lua_block { ngx.say("done") }
    }
--- request
GET /t
--- response_body
done
--- grep_error_log eval: qr/hostcalls: on_request_headers: foreign [^,]*/
--- grep_error_log_out
hostcalls: on_request_headers: foreign "boom" -> InternalFailure
hostcalls: on_request_headers: foreign "number" -> InternalFailure
--- error_log eval
[qr/\[error\] .*foreign function "boom" failed: .*exploded/,
qr/\[error\] .*wasm plugin "hostcalls": foreign function "boom" failed: the Lua function failed/,
qr/\[error\] .*foreign function "number" returned a number, not a string/]
--- no_error_log
[alert]
[crit]



=== TEST 3: a plugin on the directive path cannot run a Lua function (no coroutine to run it on): a clear error
--- http_config
    lua_package_path "lua/?.lua;;";
    wasm_plugin hostcalls ../../t/plugins/hostcalls.wasm;
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        assert(wasm.register_foreign_function("greet", function(who) return "hello " .. ngx.var.uri end))
    }
--- config
    location /t {
        proxy_wasm hostcalls '{"on_request_headers": [{"op": "foreign", "name": "greet", "args": "directive"}]}';
        content_by_lua_block { ngx.say("done") }
    }
--- request
GET /t
--- response_body
done
--- error_log eval
[qr/hostcalls: on_request_headers: foreign "greet" -> InternalFailure/,
qr/\[error\] .*wasm plugin "hostcalls": foreign function "greet" failed: a Lua foreign function can only be called by plugins run through the Lua API/]
--- no_error_log
[alert]
[crit]



=== TEST 4: a hot Lua loop entering plugins that call back into Lua: no "bad callback" under the JIT
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local n = 0
        assert(wasm.register_foreign_function("count", function() n = n + 1 return tostring(n) end))
        package.loaded.plugin = assert(wasm.load("hostcalls", "t/plugins/hostcalls.wasm"))
    }
--- config
    location /t {
        content_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            local conf = [[{"on_configure": [{"op": "foreign", "name": "count"}]}]]
            local ok = 0
            for _ = 1, 300 do
                if wasm.on_configure(package.loaded.plugin, conf) then
                    ok = ok + 1
                end
            end
            ngx.say(ok, " configured")
        }
    }
--- request
GET /t
--- response_body
300 configured
--- error_log
hostcalls: on_configure: foreign "count" -> Ok "300"
--- no_error_log
bad callback
[error]
[alert]
[crit]



=== TEST 5: a foreign function that calls back into resty.proxy-wasm for the same request is refused (no nested entry)
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        assert(wasm.register_foreign_function("reenter", function()
            local ok, err = wasm.on_http_request_headers(package.loaded.ctx)
            local again, err2 = wasm.on_http_response_headers(package.loaded.ctx)
            return tostring(ok) .. " " .. tostring(err) .. " / " .. tostring(again) .. " " .. tostring(err2)
        end))
        local plugin = assert(wasm.load("hostcalls", "t/plugins/hostcalls.wasm"))
        package.loaded.ctx = assert(wasm.on_configure(plugin, [[{"on_request_headers": [
            {"op": "foreign", "name": "reenter"},
            {"op": "log", "msg": "still running"}]}]]))
    }
--- config
    location /t {
        access_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            assert(wasm.on_http_request_headers(package.loaded.ctx))
        }
        content_by_lua_block { ngx.say("done") }
    }
--- request
GET /t
--- response_body
done
--- grep_error_log eval: qr/hostcalls: on_request_headers: (foreign|still)[^,]*|refused: called from Lua code a plugin is running/
--- grep_error_log_out
refused: called from Lua code a plugin is running
refused: called from Lua code a plugin is running
hostcalls: on_request_headers: foreign "reenter" -> Ok "nil failed to run proxy_on_http_request_headers / nil failed to run proxy_on_http_response_headers"
hostcalls: on_request_headers: still running
--- no_error_log
[alert]
[crit]
