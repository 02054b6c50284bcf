# The APISIX fault-injection plugin in each language, answering requests from access_by_lua through
# resty.proxy-wasm: Rust (t/plugins/fault_injection, the proxy-wasm crate and serde), AssemblyScript
# (t/plugins/fault_injection_as, @solo-io/proxy-runtime and assemblyscript-json) and C (t/plugins/fault_injection_c,
# the bare ABI and jsmn). Every block runs one case against the three plugins, loaded under the names rust, as
# and c: either one request per language (GET /rust, /as, /c, each with its own status and body assertions), or
# one request whose Lua prints a line per language. Refusals assert what the plugins do (proxy_on_configure
# returns false, the plugin logs `fault injection: bad ...`), not what their JSON libraries say.
use Test::Nginx::Socket::Lua 'no_plan';

log_level('info');
no_shuffle();
run_tests();

__DATA__

=== TEST 1: 200 hello world, the upstream content is never reached
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        package.loaded.plugins = {}
        for lang, file in pairs({ rust = "fault_injection", as = "fault_injection_as", c = "fault_injection_c" }) do
            package.loaded.plugins[lang] = wasm.load(lang, "t/plugins/" .. file .. ".wasm")
        end
    }
--- config
    location ~ ^/(rust|as|c)$ {
        access_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            local plugin = assert(package.loaded.plugins[ngx.var[1]], "not loaded")
            local ctx = assert(wasm.on_configure(plugin, '{"body":"hello world","http_status":200}'))
            assert(wasm.on_http_request_headers(ctx))
        }
        content_by_lua_block { ngx.say("upstream") }
    }
--- request eval
["GET /rust", "GET /as", "GET /c"]
--- error_code eval
[200, 200, 200]
--- response_body eval
["hello world", "hello world", "hello world"]
--- no_error_log
[error]
[alert]
[crit]



=== TEST 2: 403 with the configured body
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        package.loaded.plugins = {}
        for lang, file in pairs({ rust = "fault_injection", as = "fault_injection_as", c = "fault_injection_c" }) do
            package.loaded.plugins[lang] = wasm.load(lang, "t/plugins/" .. file .. ".wasm")
        end
    }
--- config
    location ~ ^/(rust|as|c)$ {
        access_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            local plugin = assert(package.loaded.plugins[ngx.var[1]], "not loaded")
            local ctx = assert(wasm.on_configure(plugin, '{"body":"access denied\\n","http_status":403}'))
            assert(wasm.on_http_request_headers(ctx))
        }
        content_by_lua_block { ngx.say("upstream") }
    }
--- request eval
["GET /rust", "GET /as", "GET /c"]
--- error_code eval
[403, 403, 403]
--- response_body eval
["access denied\n", "access denied\n", "access denied\n"]
--- no_error_log
[error]
[alert]
[crit]



=== TEST 3: an empty body gives nginx's own error page for the status
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        package.loaded.plugins = {}
        for lang, file in pairs({ rust = "fault_injection", as = "fault_injection_as", c = "fault_injection_c" }) do
            package.loaded.plugins[lang] = wasm.load(lang, "t/plugins/" .. file .. ".wasm")
        end
    }
--- config
    location ~ ^/(rust|as|c)$ {
        access_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            local plugin = assert(package.loaded.plugins[ngx.var[1]], "not loaded")
            local ctx = assert(wasm.on_configure(plugin, '{"http_status":503}'))
            assert(wasm.on_http_request_headers(ctx))
        }
        content_by_lua_block { ngx.say("upstream") }
    }
--- request eval
["GET /rust", "GET /as", "GET /c"]
--- error_code eval
[503, 503, 503]
--- response_body_like eval
["<title>503 Service Temporarily Unavailable</title>", "<title>503 Service Temporarily Unavailable</title>", "<title>503 Service Temporarily Unavailable</title>"]
--- no_error_log
[error]
[alert]
[crit]



=== TEST 4: the plugin ctx is configured once and serves many requests (APISIX caches it per route conf)
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        package.loaded.ctxs = {}
        for lang, file in pairs({ rust = "fault_injection", as = "fault_injection_as", c = "fault_injection_c" }) do
            local plugin = wasm.load(lang, "t/plugins/" .. file .. ".wasm")
            package.loaded.ctxs[lang] = plugin and wasm.on_configure(plugin, '{"body":"cached\\n","http_status":201}')
        end
    }
--- config
    location ~ ^/(rust|as|c)$ {
        access_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            assert(wasm.on_http_request_headers(assert(package.loaded.ctxs[ngx.var[1]], "not configured")))
        }
        content_by_lua_block { ngx.say("upstream") }
    }
--- request eval
["GET /rust", "GET /rust", "GET /rust", "GET /as", "GET /as", "GET /as", "GET /c", "GET /c", "GET /c"]
--- error_code eval
[201, 201, 201, 201, 201, 201, 201, 201, 201]
--- response_body eval
["cached\n", "cached\n", "cached\n", "cached\n", "cached\n", "cached\n", "cached\n", "cached\n", "cached\n"]
--- no_error_log
[error]
[alert]
[crit]



=== TEST 5: percentage 100 answers every request
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        package.loaded.ctxs = {}
        for lang, file in pairs({ rust = "fault_injection", as = "fault_injection_as", c = "fault_injection_c" }) do
            local plugin = wasm.load(lang, "t/plugins/" .. file .. ".wasm")
            package.loaded.ctxs[lang] = plugin and wasm.on_configure(plugin, '{"body":"always\\n","http_status":429,"percentage":100}')
        end
    }
--- config
    location ~ ^/(rust|as|c)$ {
        access_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            assert(wasm.on_http_request_headers(assert(package.loaded.ctxs[ngx.var[1]], "not configured")))
        }
        content_by_lua_block { ngx.say("upstream") }
    }
--- request eval
["GET /rust", "GET /rust", "GET /as", "GET /as", "GET /c", "GET /c"]
--- error_code eval
[429, 429, 429, 429, 429, 429]
--- response_body eval
["always\n", "always\n", "always\n", "always\n", "always\n", "always\n"]
--- no_error_log
[error]
[alert]
[crit]



=== TEST 6: escapes are decoded (in keys too); whitespace, unknown keys with any value and a null percentage are accepted
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        package.loaded.plugins = {}
        for lang, file in pairs({ rust = "fault_injection", as = "fault_injection_as", c = "fault_injection_c" }) do
            package.loaded.plugins[lang] = wasm.load(lang, "t/plugins/" .. file .. ".wasm")
        end
    }
--- config
    location ~ ^/(rust|as|c)$ {
        access_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            local plugin = assert(package.loaded.plugins[ngx.var[1]], "not loaded")
            local ctx = assert(wasm.on_configure(plugin, [=[ {
                "http\u005fstatus" : 200,
                "body" : "caf\u00e9 \"q\" \/ \\ \ud83d\ude00 \b\f\r\ttab\n",
                "extra" : {"a": [1, -2.5e3, 1E+2, 99999999999999999999, true, false, null, "x", {}, []]},
                "percentage" : null
            } ]=]))
            assert(wasm.on_http_request_headers(ctx))
        }
        content_by_lua_block { ngx.say("upstream") }
    }
--- request eval
["GET /rust", "GET /as", "GET /c"]
--- error_code eval
[200, 200, 200]
--- response_body eval
["café \"q\" / \\ 😀 \x08\f\r\ttab\n", "café \"q\" / \\ 😀 \x08\f\r\ttab\n", "café \"q\" / \\ 😀 \x08\f\r\ttab\n"]
--- no_error_log
[error]
[alert]
[crit]



=== TEST 7: calls outside a request are refused
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        package.loaded.errs = {}
        for lang, file in pairs({ rust = "fault_injection", as = "fault_injection_as", c = "fault_injection_c" }) do
            local plugin = wasm.load(lang, "t/plugins/" .. file .. ".wasm")
            local ctx = plugin and wasm.on_configure(plugin, '{"http_status":200}')
            package.loaded.errs[lang] = ctx and select(2, wasm.on_http_request_headers(ctx)) or "not configured"
        end
    }
--- config
    location /t {
        content_by_lua_block {
            for _, lang in ipairs({ "rust", "as", "c" }) do
                ngx.say(lang, ": ", package.loaded.errs[lang])
            end
        }
    }
--- request
GET /t
--- response_body
rust: no request found
as: no request found
c: no request found
--- no_error_log
[error]
[alert]
[crit]



=== TEST 8: a bad plugin ctx is refused, and the request goes on
--- http_config
    lua_package_path "lua/?.lua;;";
--- config
    location /t {
        access_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            ngx.ctx.err = select(2, wasm.on_http_request_headers("ctx"))
        }
        content_by_lua_block { ngx.say(ngx.ctx.err) }
    }
--- request
GET /t
--- response_body
bad plugin ctx
--- no_error_log
[error]
[alert]
[crit]



=== TEST 9: a good configuration gives a plugin ctx
--- http_config
    lua_package_path "lua/?.lua;;";
--- config
    location /t {
        content_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            local files = { rust = "fault_injection", as = "fault_injection_as", c = "fault_injection_c" }
            for _, lang in ipairs({ "rust", "as", "c" }) do
                local plugin, err = wasm.load(lang, "t/plugins/" .. files[lang] .. ".wasm")
                local ctx
                if plugin then
                    ctx, err = wasm.on_configure(plugin, '{"body":"x","http_status":403}')
                end
                ngx.say(lang, ": ", type(ctx), " ", err)
            end
        }
    }
--- request
GET /t
--- response_body
rust: cdata nil
as: cdata nil
c: cdata nil
--- no_error_log
[error]
[alert]
[crit]



=== TEST 10: an http_status below 200 or a percentage outside 1..100 is refused with the plugin's line
--- http_config
    lua_package_path "lua/?.lua;;";
--- config
    location /t {
        content_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            local files = { rust = "fault_injection", as = "fault_injection_as", c = "fault_injection_c" }
            for _, lang in ipairs({ "rust", "as", "c" }) do
                local plugin, err = wasm.load(lang, "t/plugins/" .. files[lang] .. ".wasm")
                for _, conf in ipairs({
                    '{"body":"x","http_status":100}',
                    '{"http_status":200,"percentage":0}',
                    '{"http_status":200,"percentage":101}',
                }) do
                    ngx.say(lang, " ", conf, ": ", plugin and select(2, wasm.on_configure(plugin, conf)) or err)
                end
            end
        }
    }
--- request
GET /t
--- response_body
rust {"body":"x","http_status":100}: failed to run proxy_on_configure
rust {"http_status":200,"percentage":0}: failed to run proxy_on_configure
rust {"http_status":200,"percentage":101}: failed to run proxy_on_configure
as {"body":"x","http_status":100}: failed to run proxy_on_configure
as {"http_status":200,"percentage":0}: failed to run proxy_on_configure
as {"http_status":200,"percentage":101}: failed to run proxy_on_configure
c {"body":"x","http_status":100}: failed to run proxy_on_configure
c {"http_status":200,"percentage":0}: failed to run proxy_on_configure
c {"http_status":200,"percentage":101}: failed to run proxy_on_configure
--- grep_error_log eval: qr/wasm plugin "\w+": (?:fault injection: bad \w+ \d+: must be [^,\n]+|proxy_on_configure \S+ \S+)/
--- grep_error_log_out
wasm plugin "rust": fault injection: bad http_status 100: must be at least 200
wasm plugin "rust": proxy_on_configure returned failure
wasm plugin "rust": fault injection: bad percentage 0: must be within 1..=100
wasm plugin "rust": proxy_on_configure returned failure
wasm plugin "rust": fault injection: bad percentage 101: must be within 1..=100
wasm plugin "rust": proxy_on_configure returned failure
wasm plugin "as": fault injection: bad http_status 100: must be at least 200
wasm plugin "as": proxy_on_configure returned failure
wasm plugin "as": fault injection: bad percentage 0: must be within 1..=100
wasm plugin "as": proxy_on_configure returned failure
wasm plugin "as": fault injection: bad percentage 101: must be within 1..=100
wasm plugin "as": proxy_on_configure returned failure
wasm plugin "c": fault injection: bad http_status 100: must be at least 200
wasm plugin "c": proxy_on_configure returned failure
wasm plugin "c": fault injection: bad percentage 0: must be within 1..=100
wasm plugin "c": proxy_on_configure returned failure
wasm plugin "c": fault injection: bad percentage 101: must be within 1..=100
wasm plugin "c": proxy_on_configure returned failure
--- no_error_log
[alert]
[crit]



=== TEST 11: bad JSON, wrong types, a missing or repeated field are refused (one bad-configuration line each), and the plugin configures afterwards
--- http_config
    lua_package_path "lua/?.lua;;";
--- config
    location /t {
        content_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            local files = { rust = "fault_injection", as = "fault_injection_as", c = "fault_injection_c" }
            local confs = {
                '{"body":',                                  -- 1: malformed JSON
                '{"http_status":200} x',                     -- 2: trailing characters
                '{"http_status":200,}',                      -- 3: trailing comma
                '{"http_status":200 "body":"x"}',            -- 4: a missing comma
                '[]',                                        -- 5: not an object
                '{"http_status":200,"body":"a\nb"}',         -- 6: a control character in a string
                [[{"http_status":200,"body":"\x"}]],         -- 7: an unknown escape
                [[{"http_status":200,"body":"\ud83d"}]],     -- 8: a lone surrogate
                '{"http_status":"200"}',                     -- 9: wrong types
                '{"http_status":200.0}',                     -- 10
                '{"http_status":-1}',                        -- 11
                '{"http_status":4294967296}',                -- 12
                '{"http_status":null}',                      -- 13
                '{"http_status":200,"body":5}',              -- 14
                '{"http_status":200,"percentage":"50"}',     -- 15
                '{"body":"x"}',                              -- 16: http_status missing
                '{"http_status":200,"http_status":201}',     -- 17: a repeated field
            }
            for _, lang in ipairs({ "rust", "as", "c" }) do
                local plugin, err = wasm.load(lang, "t/plugins/" .. files[lang] .. ".wasm")
                if not plugin then
                    ngx.say(lang, ": ", err)
                else
                    local not_refused = {}
                    for i, conf in ipairs(confs) do
                        local ctx, err = wasm.on_configure(plugin, conf)
                        if err ~= "failed to run proxy_on_configure" then
                            not_refused[#not_refused + 1] = i .. " (" .. tostring(err) .. ")"
                        end
                    end
                    ngx.say(lang, ": ", #not_refused == 0 and "all refused" or "not refused: " .. table.concat(not_refused, ", "),
                            "; then ", type(wasm.on_configure(plugin, '{"http_status":200}')))
                end
            end
        }
    }
--- request
GET /t
--- response_body
rust: all refused; then cdata
as: all refused; then cdata
c: all refused; then cdata
--- grep_error_log eval: qr/wasm plugin "\w+": (?:fault injection: bad configuration|proxy_on_configure \S+ \S+)/
--- grep_error_log_out eval
qq{wasm plugin "rust": fault injection: bad configuration\nwasm plugin "rust": proxy_on_configure returned failure\n} x 17
. qq{wasm plugin "as": fault injection: bad configuration\nwasm plugin "as": proxy_on_configure returned failure\n} x 17
. qq{wasm plugin "c": fault injection: bad configuration\nwasm plugin "c": proxy_on_configure returned failure\n} x 17
--- no_error_log
[alert]
[crit]
