# The Lua side stays on LuaJIT's compiled path: after a few hundred requests through resty.proxy-wasm (the
# APISIX-style hot path: on_http_request_headers answering with a local response), the JIT has compiled traces
# in resty/proxy-wasm.lua and aborted none of them there (no NYI, no blacklisting).
use Test::Nginx::Socket::Lua 'no_plan';

log_level('warn');
no_shuffle();
run_tests();

__DATA__

=== TEST 1: the hot path compiles
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        require("jit.v").start(ngx.config.prefix() .. "logs/jit.log")
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("fault_injection", "t/plugins/fault_injection.wasm"))
        package.loaded.ctx = assert(wasm.on_configure(plugin, '{"body":"hello world","http_status":200}'))
    }
--- config
    location /t {
        access_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            assert(wasm.on_http_request_headers(package.loaded.ctx))
        }
    }
    location /jit {
        content_by_lua_block {
            local f = assert(io.open(ngx.config.prefix() .. "logs/jit.log"))
            local log = f:read("*a")
            f:close()
            local compiled, aborted = 0, {}
            for line in log:gmatch("[^\n]+") do
                if line:find("proxy%-wasm%.lua") then
                    if line:find("^%[TRACE%s+%d+") then
                        compiled = compiled + 1
                    elseif line:find("^%[TRACE %-%-%-") then
                        aborted[#aborted + 1] = line
                    end
                end
            end
            ngx.say("compiled traces in proxy-wasm.lua: ", compiled > 0)
            ngx.say("aborted: ", #aborted == 0 and "none" or table.concat(aborted, "\n"))
        }
    }
--- request eval
[("GET /t") x 300, "GET /jit"]
--- response_body eval
[("hello world") x 300, "compiled traces in proxy-wasm.lua: true\naborted: none\n"]
--- no_error_log
[error]
[alert]
[crit]
