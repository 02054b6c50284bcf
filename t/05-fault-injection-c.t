# The APISIX fault-injection plugin in C against the bare Proxy-Wasm 0.2.1 ABI (no SDK),
# answering requests from access_by_lua through resty.proxy-wasm: the expectations of the Rust plugin's
# suites (03-fault-injection.t and the refusals of 02-configure.t), plus the strictness of its JSON reader.
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
        package.loaded.plugin = assert(wasm.load("fault_injection_c", "t/plugins/fault_injection_c.wasm"))
    }
--- config
    location /t {
        access_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            local ctx = assert(wasm.on_configure(package.loaded.plugin, '{"body":"hello world","http_status":200}'))
            assert(wasm.on_http_request_headers(ctx))
        }
        content_by_lua_block { ngx.say("upstream") }
    }
--- request
GET /t
--- error_code: 200
--- response_body chomp
hello world
--- no_error_log
[error]
[alert]
[crit]



=== TEST 2: 403 with the configured body
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        package.loaded.plugin = assert(wasm.load("fault_injection_c", "t/plugins/fault_injection_c.wasm"))
    }
--- config
    location /t {
        access_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            local ctx = assert(wasm.on_configure(package.loaded.plugin, '{"body":"access denied\\n","http_status":403}'))
            assert(wasm.on_http_request_headers(ctx))
        }
        content_by_lua_block { ngx.say("upstream") }
    }
--- request
GET /t
--- error_code: 403
--- response_body
access denied
--- no_error_log
[error]
[alert]
[crit]



=== TEST 3: an empty body gives nginx's own error page for the status
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        package.loaded.plugin = assert(wasm.load("fault_injection_c", "t/plugins/fault_injection_c.wasm"))
    }
--- config
    location /t {
        access_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            local ctx = assert(wasm.on_configure(package.loaded.plugin, '{"http_status":503}'))
            assert(wasm.on_http_request_headers(ctx))
        }
        content_by_lua_block { ngx.say("upstream") }
    }
--- request
GET /t
--- error_code: 503
--- response_body_like: <title>503 Service Temporarily Unavailable</title>
--- no_error_log
[error]
[alert]
[crit]



=== TEST 4: the plugin ctx is configured once and serves many requests (APISIX caches it per route conf)
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("fault_injection_c", "t/plugins/fault_injection_c.wasm"))
        package.loaded.ctx = assert(wasm.on_configure(plugin, '{"body":"cached\\n","http_status":201}'))
    }
--- config
    location /t {
        access_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            assert(wasm.on_http_request_headers(package.loaded.ctx))
        }
        content_by_lua_block { ngx.say("upstream") }
    }
--- request eval
["GET /t", "GET /t", "GET /t"]
--- error_code eval
[201, 201, 201]
--- response_body eval
["cached\n", "cached\n", "cached\n"]
--- no_error_log
[error]
[alert]
[crit]



=== TEST 5: percentage 100 answers every request
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("fault_injection_c", "t/plugins/fault_injection_c.wasm"))
        package.loaded.ctx = assert(wasm.on_configure(plugin, '{"body":"always\\n","http_status":429,"percentage":100}'))
    }
--- config
    location /t {
        access_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            assert(wasm.on_http_request_headers(package.loaded.ctx))
        }
        content_by_lua_block { ngx.say("upstream") }
    }
--- request eval
["GET /t", "GET /t"]
--- error_code eval
[429, 429]
--- response_body eval
["always\n", "always\n"]
--- no_error_log
[error]
[alert]
[crit]



=== TEST 6: JSON escapes are decoded, unknown keys and a null percentage are accepted
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        package.loaded.plugin = assert(wasm.load("fault_injection_c", "t/plugins/fault_injection_c.wasm"))
    }
--- config
    location /t {
        access_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            local ctx = assert(wasm.on_configure(package.loaded.plugin, [[{"http_status":200,"body":"caf\u00e9 \"q\" \/ \\ \ud83d\ude00\ttab\n","extra":{"a":[1,-2.5e3,true,null,"x"]},"percentage":null}]]))
            assert(wasm.on_http_request_headers(ctx))
        }
        content_by_lua_block { ngx.say("upstream") }
    }
--- request
GET /t
--- error_code: 200
--- response_body eval
"café \"q\" / \\ 😀\ttab\n"
--- no_error_log
[error]
[alert]
[crit]



=== TEST 7: calls outside a request are refused
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("fault_injection_c", "t/plugins/fault_injection_c.wasm"))
        local ctx = assert(wasm.on_configure(plugin, '{"http_status":200}'))
        package.loaded.err = select(2, wasm.on_http_request_headers(ctx))
    }
--- config
    location /t {
        content_by_lua_block { ngx.say(package.loaded.err) }
    }
--- request
GET /t
--- response_body
no request found
--- no_error_log
[error]
[alert]
[crit]



=== TEST 8: a good configuration gives a plugin ctx
--- http_config
    lua_package_path "lua/?.lua;;";
--- config
    location /t {
        content_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            local plugin = assert(wasm.load("fault_injection_c", "t/plugins/fault_injection_c.wasm"))
            local ctx, err = wasm.on_configure(plugin, '{"body":"x","http_status":403}')
            ngx.say(type(ctx), " ", err)
        }
    }
--- request
GET /t
--- response_body
cdata nil
--- no_error_log
[error]
[alert]
[crit]



=== TEST 9: http_status below 200 is rejected by the plugin with a logged error
--- http_config
    lua_package_path "lua/?.lua;;";
--- config
    location /t {
        content_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            local plugin = assert(wasm.load("fault_injection_c", "t/plugins/fault_injection_c.wasm"))
            ngx.say(wasm.on_configure(plugin, '{"body":"x","http_status":100}'))
        }
    }
--- request
GET /t
--- response_body
nilfailed to run proxy_on_configure
--- error_log
wasm plugin "fault_injection_c": fault injection: bad http_status 100: must be at least 200
wasm plugin "fault_injection_c": proxy_on_configure returned failure
--- no_error_log
[alert]
[crit]



=== TEST 10: malformed JSON is rejected, and the same plugin still configures afterwards
--- http_config
    lua_package_path "lua/?.lua;;";
--- config
    location /t {
        content_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            local plugin = assert(wasm.load("fault_injection_c", "t/plugins/fault_injection_c.wasm"))
            ngx.say(wasm.on_configure(plugin, '{"body":'))
            ngx.say(type(wasm.on_configure(plugin, '{"http_status":200}')))
        }
    }
--- request
GET /t
--- response_body
nilfailed to run proxy_on_configure
cdata
--- error_log
fault injection: bad configuration: EOF while parsing a value at line 1 column 8
--- no_error_log
[alert]
[crit]



=== TEST 11: a percentage outside 1..100 is rejected
--- http_config
    lua_package_path "lua/?.lua;;";
--- config
    location /t {
        content_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            local plugin = assert(wasm.load("fault_injection_c", "t/plugins/fault_injection_c.wasm"))
            ngx.say(wasm.on_configure(plugin, '{"http_status":200,"percentage":0}'))
            ngx.say(wasm.on_configure(plugin, '{"http_status":200,"percentage":101}'))
        }
    }
--- request
GET /t
--- response_body
nilfailed to run proxy_on_configure
nilfailed to run proxy_on_configure
--- error_log
fault injection: bad percentage 0: must be within 1..=100
fault injection: bad percentage 101: must be within 1..=100
--- no_error_log
[alert]
[crit]



=== TEST 12: the parser is strict: wrong types, a missing or duplicate field, trailing data, bad escapes
--- http_config
    lua_package_path "lua/?.lua;;";
--- config
    location /t {
        content_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            local plugin = assert(wasm.load("fault_injection_c", "t/plugins/fault_injection_c.wasm"))
            for _, conf in ipairs({
                '{"http_status":"200"}',
                '{"http_status":200.0}',
                '{"http_status":-1}',
                '{"http_status":4294967296}',
                '{"body":"x"}',
                '{"http_status":200,"http_status":201}',
                '{"http_status":200} x',
                '{"http_status":200,}',
                [[{"http_status":200,"body":"\x"}]],
                [[{"http_status":200,"body":"\ud83d"}]],
            }) do
                ngx.say(select(2, wasm.on_configure(plugin, conf)))
            end
        }
    }
--- request
GET /t
--- response_body
failed to run proxy_on_configure
failed to run proxy_on_configure
failed to run proxy_on_configure
failed to run proxy_on_configure
failed to run proxy_on_configure
failed to run proxy_on_configure
failed to run proxy_on_configure
failed to run proxy_on_configure
failed to run proxy_on_configure
failed to run proxy_on_configure
--- error_log
fault injection: bad configuration: invalid type: string "200", expected u32 at line 1 column 20
fault injection: bad configuration: invalid type: floating point `200.0`, expected u32 at line 1 column 20
fault injection: bad configuration: invalid value: integer `-1`, expected u32 at line 1 column 17
fault injection: bad configuration: invalid value: integer `4294967296`, expected u32 at line 1 column 25
fault injection: bad configuration: missing field `http_status` at line 1 column 12
fault injection: bad configuration: duplicate field `http_status` at line 1 column 32
fault injection: bad configuration: trailing characters at line 1 column 21
fault injection: bad configuration: trailing comma at line 1 column 20
fault injection: bad configuration: invalid escape at line 1 column 29
fault injection: bad configuration: unexpected end of hex escape at line 1 column 34
--- no_error_log
[alert]
[crit]
