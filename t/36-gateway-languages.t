# wasm_gateway with the wasm_fault_injection plugin in each language: Rust (t/plugins/fault_injection),
# AssemblyScript (t/plugins/fault_injection_as) and C (t/plugins/fault_injection_c) give the same answers through
# the runner, as the seed's /wasm route: 200 hello world, a configured status and body, nginx's page without a
# body, 503 for a conf the plugin refuses, and percentage (declared in the rewrite phase, so it also runs in the
# subrequests the count uses: nginx skips the access phase of subrequests).
use Test::Nginx::Socket::Lua 'no_plan';

log_level('info');
no_shuffle();
no_root_location();
run_tests();

__DATA__

=== TEST 1: Rust (proxy-wasm crate): the seed's answers, and a refused conf
--- http_config
    lua_package_path "t/lib/?.lua;lua/?.lua;;";
    init_by_lua_block {
        local gw = require("wasm_gateway")
        assert(gw.configure({
            wasm = { plugins = { { name = "wasm_fault_injection", priority = 7997, file = "t/plugins/fault_injection.wasm" } } },
            routes = {
                { uri = "/wasm", plugins = { wasm_fault_injection = { conf = '{"body":"hello world", "http_status":200}' } } },
                { uri = "/denied", plugins = { wasm_fault_injection = { conf = { body = "access denied\n", http_status = 403 } } } },
                { uri = "/page", plugins = { wasm_fault_injection = { conf = { http_status = 503 } } } },
                { uri = "/bad", plugins = { wasm_fault_injection = { conf = '{"body": "x"}' } } },
            },
        }))
    }
--- config
    location / {
        rewrite_by_lua_block { require("wasm_gateway").rewrite() }
        access_by_lua_block { require("wasm_gateway").access() }
        header_filter_by_lua_block { require("wasm_gateway").header_filter() }
        body_filter_by_lua_block { require("wasm_gateway").body_filter() }
        content_by_lua_block { ngx.say("upstream") }
    }
    location = /seq {
        content_by_lua_block {
            local seq = require("seq")
            for _, uri in ipairs({ "/wasm", "/denied", "/page", "/bad" }) do
                local status, body = seq.get(uri)
                ngx.say(uri, " ", status, " ", body:match("<title>(.-)</title>") or (body:gsub("\n", "\\n")))
            end
        }
    }
--- request
GET /seq
--- response_body
/wasm 200 hello world
/denied 403 access denied\n
/page 503 503 Service Temporarily Unavailable
/bad 503 503 Service Temporarily Unavailable
--- grep_error_log eval: qr/seq: GET [^,\s]+|wasm_gateway: wasm_fault_injection: failed to fetch wasm plugin ctx: failed to run proxy_on_configure|\[(?:alert|crit)\]/
--- grep_error_log_out
seq: GET /wasm
seq: GET /denied
seq: GET /page
seq: GET /bad
wasm_gateway: wasm_fault_injection: failed to fetch wasm plugin ctx: failed to run proxy_on_configure



=== TEST 2: AssemblyScript (@solo-io/proxy-runtime 0.1.8): the seed's answers, and a refused conf
--- http_config
    lua_package_path "t/lib/?.lua;lua/?.lua;;";
    init_by_lua_block {
        local gw = require("wasm_gateway")
        assert(gw.configure({
            wasm = { plugins = { { name = "wasm_fault_injection", priority = 7997, file = "t/plugins/fault_injection_as.wasm" } } },
            routes = {
                { uri = "/wasm", plugins = { wasm_fault_injection = { conf = '{"body":"hello world", "http_status":200}' } } },
                { uri = "/denied", plugins = { wasm_fault_injection = { conf = { body = "access denied\n", http_status = 403 } } } },
                { uri = "/page", plugins = { wasm_fault_injection = { conf = { http_status = 503 } } } },
                { uri = "/bad", plugins = { wasm_fault_injection = { conf = '{"body": "x"}' } } },
            },
        }))
    }
--- config
    location / {
        rewrite_by_lua_block { require("wasm_gateway").rewrite() }
        access_by_lua_block { require("wasm_gateway").access() }
        header_filter_by_lua_block { require("wasm_gateway").header_filter() }
        body_filter_by_lua_block { require("wasm_gateway").body_filter() }
        content_by_lua_block { ngx.say("upstream") }
    }
    location = /seq {
        content_by_lua_block {
            local seq = require("seq")
            for _, uri in ipairs({ "/wasm", "/denied", "/page", "/bad" }) do
                local status, body = seq.get(uri)
                ngx.say(uri, " ", status, " ", body:match("<title>(.-)</title>") or (body:gsub("\n", "\\n")))
            end
        }
    }
--- request
GET /seq
--- response_body
/wasm 200 hello world
/denied 403 access denied\n
/page 503 503 Service Temporarily Unavailable
/bad 503 503 Service Temporarily Unavailable
--- grep_error_log eval: qr/seq: GET [^,\s]+|wasm_gateway: wasm_fault_injection: failed to fetch wasm plugin ctx: failed to run proxy_on_configure|\[(?:alert|crit)\]/
--- grep_error_log_out
seq: GET /wasm
seq: GET /denied
seq: GET /page
seq: GET /bad
wasm_gateway: wasm_fault_injection: failed to fetch wasm plugin ctx: failed to run proxy_on_configure



=== TEST 3: C (clang-14, wasi-libc): the seed's answers, and a refused conf
--- http_config
    lua_package_path "t/lib/?.lua;lua/?.lua;;";
    init_by_lua_block {
        local gw = require("wasm_gateway")
        assert(gw.configure({
            wasm = { plugins = { { name = "wasm_fault_injection", priority = 7997, file = "t/plugins/fault_injection_c.wasm" } } },
            routes = {
                { uri = "/wasm", plugins = { wasm_fault_injection = { conf = '{"body":"hello world", "http_status":200}' } } },
                { uri = "/denied", plugins = { wasm_fault_injection = { conf = { body = "access denied\n", http_status = 403 } } } },
                { uri = "/page", plugins = { wasm_fault_injection = { conf = { http_status = 503 } } } },
                { uri = "/bad", plugins = { wasm_fault_injection = { conf = '{"body": "x"}' } } },
            },
        }))
    }
--- config
    location / {
        rewrite_by_lua_block { require("wasm_gateway").rewrite() }
        access_by_lua_block { require("wasm_gateway").access() }
        header_filter_by_lua_block { require("wasm_gateway").header_filter() }
        body_filter_by_lua_block { require("wasm_gateway").body_filter() }
        content_by_lua_block { ngx.say("upstream") }
    }
    location = /seq {
        content_by_lua_block {
            local seq = require("seq")
            for _, uri in ipairs({ "/wasm", "/denied", "/page", "/bad" }) do
                local status, body = seq.get(uri)
                ngx.say(uri, " ", status, " ", body:match("<title>(.-)</title>") or (body:gsub("\n", "\\n")))
            end
        }
    }
--- request
GET /seq
--- response_body
/wasm 200 hello world
/denied 403 access denied\n
/page 503 503 Service Temporarily Unavailable
/bad 503 503 Service Temporarily Unavailable
--- grep_error_log eval: qr/seq: GET [^,\s]+|wasm_gateway: wasm_fault_injection: failed to fetch wasm plugin ctx: failed to run proxy_on_configure|\[(?:alert|crit)\]/
--- grep_error_log_out
seq: GET /wasm
seq: GET /denied
seq: GET /page
seq: GET /bad
wasm_gateway: wasm_fault_injection: failed to fetch wasm plugin ctx: failed to run proxy_on_configure



=== TEST 4: percentage 50 in each language: about half of 400 subrequests are answered by the plugin
--- http_config
    lua_package_path "lua/?.lua;;";
    init_by_lua_block {
        local gw = require("wasm_gateway")
        local conf = { body = "injected\n", http_status = 503, percentage = 50 }
        assert(gw.configure({
            wasm = { plugins = {
                { name = "rust", priority = 3, file = "t/plugins/fault_injection.wasm", http_request_phase = "rewrite" },
                { name = "as", priority = 2, file = "t/plugins/fault_injection_as.wasm", http_request_phase = "rewrite" },
                { name = "c", priority = 1, file = "t/plugins/fault_injection_c.wasm", http_request_phase = "rewrite" },
            } },
            routes = {
                { uri = "/rust", plugins = { rust = { conf = conf } } },
                { uri = "/as", plugins = { as = { conf = conf } } },
                { uri = "/c", plugins = { c = { conf = conf } } },
            },
        }))
    }
--- config
    location = /t {
        content_by_lua_block {
            for _, lang in ipairs({ "rust", "as", "c" }) do
                local injected, passed = 0, 0
                for _ = 1, 400 do
                    local res = ngx.location.capture("/" .. lang)
                    if res.status == 503 and res.body == "injected\n" then
                        injected = injected + 1
                    elseif res.status == 200 and res.body == "upstream\n" then
                        passed = passed + 1
                    end
                end
                ngx.say(lang, ": total ", injected + passed, ", about half injected: ", injected >= 120 and injected <= 280)
            end
        }
    }
    location / {
        rewrite_by_lua_block { require("wasm_gateway").rewrite() }
        access_by_lua_block { require("wasm_gateway").access() }
        header_filter_by_lua_block { require("wasm_gateway").header_filter() }
        body_filter_by_lua_block { require("wasm_gateway").body_filter() }
        content_by_lua_block { ngx.say("upstream") }
    }
--- request
GET /t
--- response_body
rust: total 400, about half injected: true
as: total 400, about half injected: true
c: total 400, about half injected: true
--- no_error_log
[error]
[alert]
[crit]
