# What api7/wasm-nginx-module's own suites check for logs, headers, bodies and properties (its log.t, http_header.t,
# http_req_header.t, http_resp_header.t, http_req_body.t, http_resp_body.t, property.t), redone through
# resty.proxy-wasm with our t/plugins/hostcalls. Where this host answers otherwise than api7's, the title says so.
use Test::Nginx::Socket::Lua 'no_plan';

log_level('info');
no_shuffle();
run_tests();

__DATA__

=== TEST 1: every SDK log level from on_configure maps to its nginx level (trace and debug to [debug]; critical to [crit], where api7 writes [emerg]), outside any request
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("hostcalls", "t/plugins/hostcalls.wasm"))
        package.loaded.ctx = assert(wasm.on_configure(plugin, [=[{"on_configure": [
            {"op": "log", "level": "critical", "msg": "ouch, critical"},
            {"op": "log", "level": "error", "msg": "ouch, error"},
            {"op": "log", "level": "warn", "msg": "ouch, warn"},
            {"op": "log", "level": "info", "msg": "ouch, info"},
            {"op": "log", "level": "debug", "msg": "ouch, debug"},
            {"op": "log", "level": "trace", "msg": "ouch, trace"}]}]=]))
    }
--- config
    location /t {
        return 200 "ok\n";
    }
--- request
GET /t
--- log_level: debug
--- response_body
ok
--- error_log eval
[
qr/\[crit\] \d+#\d+: wasm plugin "hostcalls": hostcalls: on_configure: ouch, critical$/,
qr/\[error\] \d+#\d+: wasm plugin "hostcalls": hostcalls: on_configure: ouch, error$/,
qr/\[warn\] \d+#\d+: wasm plugin "hostcalls": hostcalls: on_configure: ouch, warn$/,
qr/\[info\] \d+#\d+: wasm plugin "hostcalls": hostcalls: on_configure: ouch, info$/,
qr/\[debug\] \d+#\d+: wasm plugin "hostcalls": hostcalls: on_configure: ouch, debug$/,
qr/\[debug\] \d+#\d+: wasm plugin "hostcalls": hostcalls: on_configure: ouch, trace$/,
]
--- no_error_log
[alert]
[emerg]



=== TEST 2: under error_log warn the host drops a plugin's info, debug and trace lines and keeps warn, error and critical
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("hostcalls", "t/plugins/hostcalls.wasm"))
        package.loaded.ctx = assert(wasm.on_configure(plugin, [=[{"on_request_headers": [
            {"op": "log", "level": "trace", "msg": "ouch, trace"},
            {"op": "log", "level": "debug", "msg": "ouch, debug"},
            {"op": "log", "level": "info", "msg": "ouch, info"},
            {"op": "log", "level": "warn", "msg": "ouch, warn"},
            {"op": "log", "level": "error", "msg": "ouch, error"},
            {"op": "log", "level": "critical", "msg": "ouch, critical"}]}]=]))
    }
--- config
    location /t {
        access_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            assert(wasm.on_http_request_headers(package.loaded.ctx))
        }
        content_by_lua_block { ngx.say("ok") }
    }
--- request
GET /t
--- log_level: warn
--- response_body
ok
--- grep_error_log eval: qr/hostcalls: on_request_headers: ouch, \w+/
--- grep_error_log_out
hostcalls: on_request_headers: ouch, warn
hostcalls: on_request_headers: ouch, error
hostcalls: on_request_headers: ouch, critical
--- error_log eval
[
qr/\[warn\] \d+#\d+: \*\d+ wasm plugin "hostcalls": hostcalls: on_request_headers: ouch, warn, client: /,
qr/\[error\] \d+#\d+: \*\d+ wasm plugin "hostcalls": hostcalls: on_request_headers: ouch, error, client: /,
qr/\[crit\] \d+#\d+: \*\d+ wasm plugin "hostcalls": hostcalls: on_request_headers: ouch, critical, client: /,
]
--- no_error_log
[alert]
[emerg]
ouch, info
ouch, debug
ouch, trace
on_request_headers num_headers



=== TEST 3: a line a plugin logs in a request carries nginx's request context (client, server, request, host) in every Lua phase, the log phase included
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("hostcalls", "t/plugins/hostcalls.wasm"))
        package.loaded.ctx = assert(wasm.on_configure(plugin, [=[{
            "on_request_headers": [{"op": "log", "level": "warn", "msg": "run http ctx in access"}],
            "on_request_body": [{"op": "log", "level": "warn", "msg": "run http ctx in content"}],
            "on_response_headers": [{"op": "log", "level": "warn", "msg": "run http ctx in header_filter"}],
            "on_response_body": [{"op": "log", "level": "warn", "msg": "run http ctx in body_filter", "if_eos": true}],
            "on_log": [{"op": "log", "level": "warn", "msg": "run http ctx in log"}]}]=]))
    }
--- config
    location /t {
        access_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            assert(wasm.on_http_request_headers(package.loaded.ctx))
        }
        content_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            ngx.req.read_body()
            assert(wasm.on_http_request_body(package.loaded.ctx, ngx.req.get_body_data(), true))
            ngx.say("ok")
        }
        header_filter_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            assert(wasm.on_http_response_headers(package.loaded.ctx))
        }
        body_filter_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            assert(wasm.on_http_response_body(package.loaded.ctx))
        }
    }
--- request
POST /t?a=1
hello
--- response_body
ok
--- error_log eval
[
qr/\[warn\] \d+#\d+: \*\d+ wasm plugin "hostcalls": hostcalls: on_request_headers: run http ctx in access, client: 127\.0\.0\.1, server: localhost, request: "POST \/t\?a=1 HTTP\/1\.1", host: "localhost"$/,
qr/\[warn\] \d+#\d+: \*\d+ wasm plugin "hostcalls": hostcalls: on_request_body: run http ctx in content, client: 127\.0\.0\.1, server: localhost, request: "POST \/t\?a=1 HTTP\/1\.1", host: "localhost"$/,
qr/\[warn\] \d+#\d+: \*\d+ wasm plugin "hostcalls": hostcalls: on_response_headers: run http ctx in header_filter, client: 127\.0\.0\.1, server: localhost, request: "POST \/t\?a=1 HTTP\/1\.1", host: "localhost"$/,
qr/\[warn\] \d+#\d+: \*\d+ wasm plugin "hostcalls": hostcalls: on_response_body: run http ctx in body_filter, client: 127\.0\.0\.1, server: localhost, request: "POST \/t\?a=1 HTTP\/1\.1", host: "localhost"$/,
qr/\[warn\] \d+#\d+: \*\d+ wasm plugin "hostcalls": hostcalls: on_log: run http ctx in log while logging request, client: 127\.0\.0\.1, server: localhost, request: "POST \/t\?a=1 HTTP\/1\.1", host: "localhost"$/,
]
--- no_error_log
[error]
[alert]
[crit]



=== TEST 4: a response header replaced with an empty value: the plugin reads it back as Ok "", the header goes out with an empty value (it is not dropped)
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("hostcalls", "t/plugins/hostcalls.wasm"))
        package.loaded.ctx = assert(wasm.on_configure(plugin, [=[{"on_response_headers": [
            {"op": "add", "map": "response_headers", "key": "add", "value": "foo"},
            {"op": "replace", "map": "response_headers", "key": "add", "value": ""},
            {"op": "get", "map": "response_headers", "key": "add"},
            {"op": "log_pairs", "map": "response_headers"}]}]=]))
    }
--- config
    location /t {
        # what the plugin's location sent, as a client sees it: an empty header or none
        header_filter_by_lua_block {
            local v = ngx.resp.get_headers()["add"]
            ngx.header["X-Seen"] = v == nil and "absent" or "[" .. v .. "]"
        }
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location /up {
        header_filter_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            assert(wasm.on_http_response_headers(package.loaded.ctx))
        }
        return 200;
    }
--- request
GET /t
--- response_headers
X-Seen: []
--- grep_error_log eval: qr/hostcalls: on_response_headers: [^,\n]*[^,\n ]/
--- grep_error_log_out
hostcalls: on_response_headers: add response_headers "add" "foo" -> Ok
hostcalls: on_response_headers: replace response_headers "add" "" -> Ok
hostcalls: on_response_headers: get response_headers "add" -> Ok ""
hostcalls: on_response_headers: response_headers: :status: 200
hostcalls: on_response_headers: response_headers: content-type: text/plain
hostcalls: on_response_headers: response_headers: content-length: 0
hostcalls: on_response_headers: response_headers: add:
hostcalls: on_response_headers: response_headers: 4 pairs
--- no_error_log
[error]
[alert]
[crit]



=== TEST 5: a repeated response header removed (every value: the content handler's and the plugin's), an absent one removed (Ok), the others kept
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("hostcalls", "t/plugins/hostcalls.wasm"))
        package.loaded.ctx = assert(wasm.on_configure(plugin, [=[{"on_response_headers": [
            {"op": "add", "map": "response_headers", "key": "add", "value": "foo"},
            {"op": "add", "map": "response_headers", "key": "add", "value": "bar"},
            {"op": "remove", "map": "response_headers", "key": "ADD"},
            {"op": "remove", "map": "response_headers", "key": "aa"},
            {"op": "get", "map": "response_headers", "key": "add"},
            {"op": "log_pairs", "map": "response_headers"}]}]=]))
    }
--- config
    location /t {
        header_filter_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            assert(wasm.on_http_response_headers(package.loaded.ctx))
        }
        content_by_lua_block {
            ngx.header["Add"] = {"one", "two"}
            ngx.header["X-Keep"] = "k"
            ngx.say("ok")
        }
    }
--- request
GET /t
--- response_headers
! add
! Add
X-Keep: k
--- response_body
ok
--- grep_error_log eval: qr/hostcalls: on_response_headers[^,\n]*/
--- grep_error_log_out
hostcalls: on_response_headers num_headers=5 end_of_stream=false
hostcalls: on_response_headers: add response_headers "add" "foo" -> Ok
hostcalls: on_response_headers: add response_headers "add" "bar" -> Ok
hostcalls: on_response_headers: remove response_headers "ADD" -> Ok
hostcalls: on_response_headers: remove response_headers "aa" -> Ok
hostcalls: on_response_headers: get response_headers "add" -> NotFound
hostcalls: on_response_headers: response_headers: :status: 200
hostcalls: on_response_headers: response_headers: content-type: text/plain
hostcalls: on_response_headers: response_headers: x-keep: k
hostcalls: on_response_headers: response_headers: 3 pairs
--- no_error_log
[error]
[alert]
[crit]



=== TEST 6: the empty header name: get answers NotFound on the request and the response map (as api7's newer host), add, replace and remove of it answer Ok and change nothing
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("hostcalls", "t/plugins/hostcalls.wasm"))
        package.loaded.ctx = assert(wasm.on_configure(plugin, [=[{
            "on_request_headers": [{"op": "get", "map": "request_headers", "key": ""}],
            "on_response_headers": [
            {"op": "get", "map": "response_headers", "key": ""},
            {"op": "add", "map": "response_headers", "key": "", "value": "x"},
            {"op": "replace", "map": "response_headers", "key": "", "value": ""},
            {"op": "remove", "map": "response_headers", "key": ""},
            {"op": "log_pairs", "map": "response_headers"}]}]=]))
    }
--- config
    location /t {
        access_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            assert(wasm.on_http_request_headers(package.loaded.ctx))
        }
        header_filter_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            assert(wasm.on_http_response_headers(package.loaded.ctx))
        }
        content_by_lua_block { ngx.say("ok") }
    }
--- request
GET /t
--- response_body
ok
--- grep_error_log eval: qr/hostcalls: on_(?:request|response)_headers: [^,\n]*/
--- grep_error_log_out
hostcalls: on_request_headers: get request_headers "" -> NotFound
hostcalls: on_response_headers: get response_headers "" -> NotFound
hostcalls: on_response_headers: add response_headers "" "x" -> Ok
hostcalls: on_response_headers: replace response_headers "" "" -> Ok
hostcalls: on_response_headers: remove response_headers "" -> Ok
hostcalls: on_response_headers: response_headers: :status: 200
hostcalls: on_response_headers: response_headers: content-type: text/plain
hostcalls: on_response_headers: response_headers: 2 pairs
--- no_error_log
[error]
[alert]
[crit]



=== TEST 7: nginx's own 404 page: the plugin reads :status 404 and the page's headers in the header filter, and its header reaches the client
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("hostcalls", "t/plugins/hostcalls.wasm"))
        package.loaded.ctx = assert(wasm.on_configure(plugin, [=[{"on_response_headers": [
            {"op": "get", "map": "response_headers", "key": ":status"},
            {"op": "log_pairs", "map": "response_headers"},
            {"op": "add", "map": "response_headers", "key": "x-wasm", "value": "seen"}]}]=]))
    }
--- config
    location /t {
        header_filter_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            assert(wasm.on_http_response_headers(package.loaded.ctx))
        }
        return 404;
    }
--- request
GET /t
--- error_code: 404
--- response_headers
X-Wasm: seen
Content-Type: text/html
--- response_body_like: 404 Not Found
--- grep_error_log eval: qr/hostcalls: on_response_headers(?!: response_headers: content-length:)[^,\n]*/
--- grep_error_log_out
hostcalls: on_response_headers num_headers=3 end_of_stream=false
hostcalls: on_response_headers: get response_headers ":status" -> Ok "404"
hostcalls: on_response_headers: response_headers: :status: 404
hostcalls: on_response_headers: response_headers: content-type: text/html
hostcalls: on_response_headers: response_headers: 3 pairs
hostcalls: on_response_headers: add response_headers "x-wasm" "seen" -> Ok
--- error_log eval
qr/hostcalls: on_response_headers: response_headers: content-length: \d+,/
--- no_error_log
[error]
[alert]
[crit]



=== TEST 8: nginx's own 502 page after the upstream refused the connection: the plugin's header callback runs once, for the page, and reads :status 502
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("hostcalls", "t/plugins/hostcalls.wasm"))
        package.loaded.ctx = assert(wasm.on_configure(plugin, [=[{"on_response_headers": [
            {"op": "get", "map": "response_headers", "key": ":status"},
            {"op": "get", "map": "response_headers", "key": "content-type"},
            {"op": "add", "map": "response_headers", "key": "x-wasm", "value": "seen"}]}]=]))
    }
--- config
    location /t {
        header_filter_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            assert(wasm.on_http_response_headers(package.loaded.ctx))
        }
        proxy_pass http://127.0.0.1:1/;
    }
--- request
GET /t
--- error_code: 502
--- response_headers
X-Wasm: seen
--- response_body_like: 502 Bad Gateway
--- grep_error_log eval: qr/hostcalls: on_response_headers[^,\n]*/
--- grep_error_log_out
hostcalls: on_response_headers num_headers=3 end_of_stream=false while sending to client
hostcalls: on_response_headers: get response_headers ":status" -> Ok "502" while sending to client
hostcalls: on_response_headers: get response_headers "content-type" -> Ok "text/html" while sending to client
hostcalls: on_response_headers: add response_headers "x-wasm" "seen" -> Ok while sending to client
--- error_log
connect() failed (111: Connection refused) while connecting to upstream
--- no_error_log
[alert]
[crit]



=== TEST 9: a client's DELETE is read verbatim from :method, and as the request.method property
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("hostcalls", "t/plugins/hostcalls.wasm"))
        package.loaded.ctx = assert(wasm.on_configure(plugin, [=[{"on_request_headers": [
            {"op": "get", "map": "request_headers", "key": ":method"},
            {"op": "get_property", "path": ["request", "method"]}]}]=]))
    }
--- config
    location /t {
        access_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            assert(wasm.on_http_request_headers(package.loaded.ctx))
        }
        content_by_lua_block { ngx.say(ngx.req.get_method()) }
    }
--- request
DELETE /t
--- response_body
DELETE
--- grep_error_log eval: qr/hostcalls: on_request_headers: [^,\n]*/
--- grep_error_log_out
hostcalls: on_request_headers: get request_headers ":method" -> Ok "DELETE"
hostcalls: on_request_headers: get_property request.method -> Ok "DELETE"
--- no_error_log
[error]
[alert]
[crit]



=== TEST 10: a :path without a leading / (a, ac, a?, a?a=c) is refused with BadArgument and the request keeps /t (api7 sets it as given); /a?a=c is taken
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("hostcalls", "t/plugins/hostcalls.wasm"))
        package.loaded.ctx = assert(wasm.on_configure(plugin, [=[{"on_request_headers": [
            {"op": "replace", "map": "request_headers", "key": ":path", "value": "a"},
            {"op": "replace", "map": "request_headers", "key": ":path", "value": "ac"},
            {"op": "replace", "map": "request_headers", "key": ":path", "value": "a?"},
            {"op": "replace", "map": "request_headers", "key": ":path", "value": "a?a=c"},
            {"op": "get", "map": "request_headers", "key": ":path"}]}]=]))
        package.loaded.ctx2 = assert(wasm.on_configure(plugin, [=[{"on_request_headers": [
            {"op": "replace", "map": "request_headers", "key": ":path", "value": "/a?a=c"},
            {"op": "get", "map": "request_headers", "key": ":path"}]}]=]))
    }
--- config
    location /t {
        access_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            assert(wasm.on_http_request_headers(package.loaded.ctx))
            ngx.ctx.before = ngx.var.uri .. " " .. tostring(ngx.var.args)
            assert(wasm.on_http_request_headers(package.loaded.ctx2))
        }
        content_by_lua_block { ngx.say(ngx.ctx.before, "; ", ngx.var.uri, " ", ngx.var.args) }
    }
--- request
GET /t
--- response_body
/t nil; /a a=c
--- grep_error_log eval: qr/hostcalls: on_request_headers: [^,\n]*/
--- grep_error_log_out
hostcalls: on_request_headers: replace request_headers ":path" "a" -> BadArgument
hostcalls: on_request_headers: replace request_headers ":path" "ac" -> BadArgument
hostcalls: on_request_headers: replace request_headers ":path" "a?" -> BadArgument
hostcalls: on_request_headers: replace request_headers ":path" "a?a=c" -> BadArgument
hostcalls: on_request_headers: get request_headers ":path" -> Ok "/t"
hostcalls: on_request_headers: replace request_headers ":path" "/a?a=c" -> Ok
hostcalls: on_request_headers: get request_headers ":path" -> Ok "/a?a=c"
--- no_error_log
[error]
[alert]
[crit]



=== TEST 11: a request body fed from Lua in two chunks (eof false, then true): each call sees its own chunk, its size and end_of_stream; a client's PUT is read from :method
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("hostcalls", "t/plugins/hostcalls.wasm"))
        package.loaded.ctx = assert(wasm.on_configure(plugin, [=[{
            "on_request_headers": [{"op": "get", "map": "request_headers", "key": ":method"}],
            "on_request_body": [
            {"op": "get_body"},
            {"op": "buffer_status"},
            {"op": "log", "msg": "last chunk", "if_eos": true}]}]=]))
    }
--- config
    location /t {
        content_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            local ctx = package.loaded.ctx
            assert(wasm.on_http_request_headers(ctx))
            assert(wasm.on_http_request_body(ctx, "1234", false))
            assert(wasm.on_http_request_body(ctx, "12345", true))
            ngx.say("done")
        }
    }
--- request
PUT /t
ignored
--- response_body
done
--- grep_error_log eval: qr/hostcalls: on_request_(?:headers|body)[^,\n]*/
--- grep_error_log_out
hostcalls: on_request_headers num_headers=6 end_of_stream=false
hostcalls: on_request_headers: get request_headers ":method" -> Ok "PUT"
hostcalls: on_request_body body_size=4 end_of_stream=false
hostcalls: on_request_body: get_body request_body -> Ok "1234"
hostcalls: on_request_body: buffer_status request_body -> Ok length=4 flags=0
hostcalls: on_request_body body_size=5 end_of_stream=true
hostcalls: on_request_body: get_body request_body -> Ok "12345"
hostcalls: on_request_body: buffer_status request_body -> Ok length=5 flags=1
hostcalls: on_request_body: last chunk
--- no_error_log
[error]
[alert]
[crit]



=== TEST 12: a chunk, then an empty last chunk (eof true): the last call has size 0 and end_of_stream, and reading it gives Ok "" (as Envoy; api7 answers NotFound)
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("hostcalls", "t/plugins/hostcalls.wasm"))
        package.loaded.ctx = assert(wasm.on_configure(plugin, [=[{"on_request_body": [
            {"op": "get_body"},
            {"op": "buffer_status"}]}]=]))
    }
--- config
    location /t {
        content_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            local ctx = package.loaded.ctx
            assert(wasm.on_http_request_body(ctx, "AAA", false))
            assert(wasm.on_http_request_body(ctx, "", true))
            ngx.say("done")
        }
    }
--- request
POST /t
AAA
--- response_body
done
--- grep_error_log eval: qr/hostcalls: on_request_body[^,\n]*/
--- grep_error_log_out
hostcalls: on_request_body body_size=3 end_of_stream=false
hostcalls: on_request_body: get_body request_body -> Ok "AAA"
hostcalls: on_request_body: buffer_status request_body -> Ok length=3 flags=0
hostcalls: on_request_body body_size=0 end_of_stream=true
hostcalls: on_request_body: get_body request_body -> Ok ""
hostcalls: on_request_body: buffer_status request_body -> Ok length=0 flags=1
--- no_error_log
[error]
[alert]
[crit]



=== TEST 13: slices of a request body: (start, size) pairs inside it, to its end, and one clamped at the end
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("hostcalls", "t/plugins/hostcalls.wasm"))
        package.loaded.ctx = assert(wasm.on_configure(plugin, [=[{"on_request_body": [
            {"op": "get_body", "start": 0, "max": 2},
            {"op": "get_body", "start": 1, "max": 1},
            {"op": "get_body", "start": 1, "max": 2},
            {"op": "get_body", "start": 0, "max": 10},
            {"op": "get_body", "start": 1, "max": 9},
            {"op": "get_body", "start": 8, "max": 2},
            {"op": "get_body", "start": 9, "max": 1},
            {"op": "get_body", "start": 1, "max": 10}]}]=]))
    }
--- config
    location /t {
        content_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            ngx.req.read_body()
            assert(wasm.on_http_request_body(package.loaded.ctx, ngx.req.get_body_data(), true))
            ngx.say("done")
        }
    }
--- request
POST /t
helloworld
--- response_body
done
--- grep_error_log eval: qr/hostcalls: on_request_body: [^,\n]*/
--- grep_error_log_out
hostcalls: on_request_body: get_body request_body -> Ok "he"
hostcalls: on_request_body: get_body request_body -> Ok "e"
hostcalls: on_request_body: get_body request_body -> Ok "el"
hostcalls: on_request_body: get_body request_body -> Ok "helloworld"
hostcalls: on_request_body: get_body request_body -> Ok "elloworld"
hostcalls: on_request_body: get_body request_body -> Ok "ld"
hostcalls: on_request_body: get_body request_body -> Ok "d"
hostcalls: on_request_body: get_body request_body -> Ok "elloworld"
--- no_error_log
[error]
[alert]
[crit]



=== TEST 14: api7's bad slices of a request body: start -1 is BadArgument; size 0 gives Ok "", size -1 (u32 max) the rest, start at the length Ok "" (api7 answers BadArgument to these three)
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("hostcalls", "t/plugins/hostcalls.wasm"))
        package.loaded.ctx = assert(wasm.on_configure(plugin, [=[{"on_request_body": [
            {"op": "get_body", "start": 4294967295, "max": 2},
            {"op": "get_body", "start": 1, "max": 0},
            {"op": "get_body", "start": 1, "max": 4294967295},
            {"op": "get_body", "start": 10, "max": 2},
            {"op": "get_body", "start": 11, "max": 2}]}]=]))
    }
--- config
    location /t {
        content_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            ngx.req.read_body()
            assert(wasm.on_http_request_body(package.loaded.ctx, ngx.req.get_body_data(), true))
            ngx.say("done")
        }
    }
--- request
POST /t
helloworld
--- response_body
done
--- grep_error_log eval: qr/hostcalls: on_request_body: [^,\n]*/
--- grep_error_log_out
hostcalls: on_request_body: get_body request_body -> BadArgument
hostcalls: on_request_body: get_body request_body -> Ok ""
hostcalls: on_request_body: get_body request_body -> Ok "elloworld"
hostcalls: on_request_body: get_body request_body -> Ok ""
hostcalls: on_request_body: get_body request_body -> BadArgument
--- no_error_log
[error]
[alert]
[crit]



=== TEST 15: slices of a response chunk (return 200 "helloworld": one call, with end_of_stream); the request body buffer there is NotFound (api7 hands over the current chunk)
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("hostcalls", "t/plugins/hostcalls.wasm"))
        package.loaded.ctx = assert(wasm.on_configure(plugin, [=[{"on_response_body": [
            {"op": "get_body", "start": 0, "max": 2},
            {"op": "get_body", "start": 1, "max": 1},
            {"op": "get_body", "start": 1, "max": 2},
            {"op": "get_body", "start": 0, "max": 10},
            {"op": "get_body", "start": 1, "max": 9},
            {"op": "get_body", "start": 8, "max": 2},
            {"op": "get_body", "start": 9, "max": 1},
            {"op": "get_body", "start": 1, "max": 10},
            {"op": "get_body", "buffer": "request_body"}]}]=]))
    }
--- config
    location /t {
        body_filter_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            assert(wasm.on_http_response_body(package.loaded.ctx))
        }
        return 200 "helloworld";
    }
--- request
GET /t
--- response_body chomp
helloworld
--- grep_error_log eval: qr/hostcalls: on_response_body[^,\n]*/
--- grep_error_log_out
hostcalls: on_response_body body_size=10 end_of_stream=true
hostcalls: on_response_body: get_body response_body -> Ok "he"
hostcalls: on_response_body: get_body response_body -> Ok "e"
hostcalls: on_response_body: get_body response_body -> Ok "el"
hostcalls: on_response_body: get_body response_body -> Ok "helloworld"
hostcalls: on_response_body: get_body response_body -> Ok "elloworld"
hostcalls: on_response_body: get_body response_body -> Ok "ld"
hostcalls: on_response_body: get_body response_body -> Ok "d"
hostcalls: on_response_body: get_body response_body -> Ok "elloworld"
hostcalls: on_response_body: get_body request_body -> NotFound
--- no_error_log
[error]
[alert]
[crit]



=== TEST 16: api7's bad slices on each chunk of a two-chunk response: start -1 BadArgument, size 0 Ok "", size -1 the rest, start at the length Ok "" (api7: BadArgument); on the empty last call any start past 0 is BadArgument
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("hostcalls", "t/plugins/hostcalls.wasm"))
        package.loaded.ctx = assert(wasm.on_configure(plugin, [=[{"on_response_body": [
            {"op": "get_body", "start": 4294967295, "max": 2},
            {"op": "get_body", "start": 1, "max": 0},
            {"op": "get_body", "start": 1, "max": 4294967295},
            {"op": "get_body", "start": 5, "max": 2},
            {"op": "get_body", "start": 6, "max": 1}]}]=]))
    }
--- config
    location /t {
        body_filter_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            assert(wasm.on_http_response_body(package.loaded.ctx))
        }
        content_by_lua_block {
            ngx.print("hello")
            ngx.flush(true)
            ngx.print("world")
        }
    }
--- request
GET /t
--- response_body chomp
helloworld
--- grep_error_log eval: qr/hostcalls: on_response_body[^,\n]*/
--- grep_error_log_out
hostcalls: on_response_body body_size=5 end_of_stream=false
hostcalls: on_response_body: get_body response_body -> BadArgument
hostcalls: on_response_body: get_body response_body -> Ok ""
hostcalls: on_response_body: get_body response_body -> Ok "ello"
hostcalls: on_response_body: get_body response_body -> Ok ""
hostcalls: on_response_body: get_body response_body -> BadArgument
hostcalls: on_response_body body_size=5 end_of_stream=false
hostcalls: on_response_body: get_body response_body -> BadArgument
hostcalls: on_response_body: get_body response_body -> Ok ""
hostcalls: on_response_body: get_body response_body -> Ok "orld"
hostcalls: on_response_body: get_body response_body -> Ok ""
hostcalls: on_response_body: get_body response_body -> BadArgument
hostcalls: on_response_body body_size=0 end_of_stream=true
hostcalls: on_response_body: get_body response_body -> BadArgument
hostcalls: on_response_body: get_body response_body -> BadArgument
hostcalls: on_response_body: get_body response_body -> BadArgument
hostcalls: on_response_body: get_body response_body -> BadArgument
hostcalls: on_response_body: get_body response_body -> BadArgument
--- no_error_log
[error]
[alert]
[crit]



=== TEST 17: a response without a body: the plugin is called once, size 0 with end_of_stream, and reading the chunk gives Ok "" (api7 answers NotFound)
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("hostcalls", "t/plugins/hostcalls.wasm"))
        package.loaded.ctx = assert(wasm.on_configure(plugin, [=[{"on_response_body": [
            {"op": "get_body"},
            {"op": "buffer_status"}]}]=]))
    }
--- config
    location /t {
        body_filter_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            assert(wasm.on_http_response_body(package.loaded.ctx))
        }
        content_by_lua_block { ngx.exit(200) }
    }
--- request
GET /t
--- response_body eval
""
--- grep_error_log eval: qr/hostcalls: on_response_body[^,\n]*/
--- grep_error_log_out
hostcalls: on_response_body body_size=0 end_of_stream=true
hostcalls: on_response_body: get_body response_body -> Ok ""
hostcalls: on_response_body: buffer_status response_body -> Ok length=0 flags=1
--- no_error_log
[error]
[alert]
[crit]



=== TEST 18: the one-segment property names api7's plugins read (plugin_root_id, scheme, host, uri, arg_test, request_uri) are nginx variables here too; setting host is refused (not changeable)
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("plugin", "t/plugins/hostcalls.wasm"))
        package.loaded.ctx = assert(wasm.on_configure(plugin, [=[{"on_request_headers": [
            {"op": "get_property", "path": ["plugin_root_id"]},
            {"op": "get_property", "path": ["scheme"]},
            {"op": "get_property", "path": ["host"]},
            {"op": "get_property", "path": ["uri"]},
            {"op": "get_property", "path": ["arg_test"]},
            {"op": "get_property", "path": ["request_uri"]},
            {"op": "set_property", "path": ["host"], "value": "test.com"},
            {"op": "get_property", "path": ["host"]}]}]=]))
    }
--- config
    location /t {
        access_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            assert(wasm.on_http_request_headers(package.loaded.ctx))
        }
        content_by_lua_block { ngx.say(ngx.var.host) }
    }
--- request
GET /t?test=yeah
--- response_body
localhost
--- grep_error_log eval: qr/hostcalls: on_request_headers: [^,\n]*|proxy-wasm: proxy_set_property: [^,\n]*/
--- grep_error_log_out
hostcalls: on_request_headers: get_property plugin_root_id -> Ok "plugin"
hostcalls: on_request_headers: get_property scheme -> Ok "http"
hostcalls: on_request_headers: get_property host -> Ok "localhost"
hostcalls: on_request_headers: get_property uri -> Ok "/t"
hostcalls: on_request_headers: get_property arg_test -> Ok "yeah"
hostcalls: on_request_headers: get_property request_uri -> Ok "/t?test=yeah"
proxy-wasm: proxy_set_property: nginx variable "host" is not changeable
hostcalls: on_request_headers: set_property host "test.com" -> BadArgument
hostcalls: on_request_headers: get_property host -> Ok "localhost"
--- no_error_log
[error]
[alert]
[crit]



=== TEST 19: wasm.load and wasm.on_configure inside the handler (as api7's blocks do): the on_configure line has no request context, the request callback's line has it
--- http_config
    lua_package_path "lua/?.lua;;";
--- config
    location /t {
        content_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            local plugin = assert(wasm.load("hostcalls", "t/plugins/hostcalls.wasm"))
            local ctx = assert(wasm.on_configure(plugin, [=[{
                "on_configure": [{"op": "log", "level": "warn", "msg": "configured in a handler"}],
                "on_request_headers": [{"op": "log", "level": "warn", "msg": "run http ctx"}]}]=]))
            assert(wasm.on_http_request_headers(ctx))
            ngx.say("ok")
        }
    }
--- request
GET /t
--- response_body
ok
--- error_log eval
[
qr/\[warn\] \d+#\d+: wasm plugin "hostcalls": hostcalls: on_configure: configured in a handler$/,
qr/\[warn\] \d+#\d+: \*\d+ wasm plugin "hostcalls": hostcalls: on_request_headers: run http ctx, client: 127\.0\.0\.1, server: localhost, request: "GET \/t HTTP\/1\.1", host: "localhost"$/,
]
--- no_error_log
[error]
[alert]
[crit]



=== TEST 20: headers Lua sets in the header filter just before the call are in the plugin's map; what the plugin changes is what Lua reads right after the call
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("hostcalls", "t/plugins/hostcalls.wasm"))
        package.loaded.ctx = assert(wasm.on_configure(plugin, [=[{"on_response_headers": [
            {"op": "get", "map": "response_headers", "key": "x-wasm"},
            {"op": "get", "map": "response_headers", "key": "x-foo"},
            {"op": "replace", "map": "response_headers", "key": "x-wasm", "value": "changed"},
            {"op": "remove", "map": "response_headers", "key": "x-foo"},
            {"op": "add", "map": "response_headers", "key": "x-new", "value": "n"}]}]=]))
    }
--- config
    location /t {
        header_filter_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            ngx.header["X-WASM"] = "false"
            ngx.header["X-foo"] = "bar"
            assert(wasm.on_http_response_headers(package.loaded.ctx))
            ngx.header["X-After"] = table.concat({ngx.header["x-wasm"], tostring(ngx.header["x-foo"]), ngx.header["x-new"]}, ",")
        }
        return 200 "body";
    }
--- request
GET /t
--- response_headers
X-Wasm: changed
! X-foo
X-New: n
X-After: changed,nil,n
--- response_body chomp
body
--- grep_error_log eval: qr/hostcalls: on_response_headers: [^,\n]*/
--- grep_error_log_out
hostcalls: on_response_headers: get response_headers "x-wasm" -> Ok "false"
hostcalls: on_response_headers: get response_headers "x-foo" -> Ok "bar"
hostcalls: on_response_headers: replace response_headers "x-wasm" "changed" -> Ok
hostcalls: on_response_headers: remove response_headers "x-foo" -> Ok
hostcalls: on_response_headers: add response_headers "x-new" "n" -> Ok
--- no_error_log
[error]
[alert]
[crit]



=== TEST 21: a request body fed from Lua in chunks which the plugin changes: at the last chunk the body nginx passes on is every chunk as the plugin left it, nothing lost (api7 ignores body changes)
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("hostcalls", "t/plugins/hostcalls.wasm"))
        package.loaded.ctx = assert(wasm.on_configure(plugin, [=[{"on_request_body": [
            {"op": "set_body", "mode": "append", "value": "!"}]}]=]))
        package.loaded.untouched = assert(wasm.on_configure(plugin, [=[{"on_request_body": [{"op": "get_body"}]}]=]))
    }
--- config
    location /t {
        content_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            ngx.req.read_body()
            local ctx = package.loaded.ctx
            assert(wasm.on_http_request_body(ctx, "1234", false))
            assert(wasm.on_http_request_body(ctx, "12345", false))
            ngx.say("before the last: ", ngx.req.get_body_data())
            assert(wasm.on_http_request_body(ctx, "6", true))
            ngx.say("after it: ", ngx.req.get_body_data())
            assert(wasm.on_http_request_body(package.loaded.untouched, "a", false))
            assert(wasm.on_http_request_body(package.loaded.untouched, "b", true))
            ngx.say("unchanged chunks leave it: ", ngx.req.get_body_data())
        }
    }
--- request
POST /t
original
--- response_body
before the last: original
after it: 1234!12345!6!
unchanged chunks leave it: 1234!12345!6!
--- no_error_log
[error]
[alert]
[crit]
