# Request header maps through the Lua API: pseudo-headers, repeated headers, get/add/replace/remove, set pairs,
# pseudo-header changes with validation, and hostile arguments. Plugin: t/plugins/hostcalls (config-driven).
use Test::Nginx::Socket::Lua 'no_plan';

log_level('info');
no_shuffle();
run_tests();

__DATA__

=== TEST 1: pairs: pseudo-headers first, then every header in order, repeated ones kept, names lowercased; Host is :authority only (as in Envoy)
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("hostcalls", "t/plugins/hostcalls.wasm"))
        package.loaded.ctx = assert(wasm.on_configure(plugin, [=[{"on_request_headers": [{"op": "log_pairs", "map": "request_headers"}]}]=]))
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
GET /t?a=1
--- more_headers
X-Rep: 1
X-Rep: 2
X-Single: s
--- response_body
ok
--- grep_error_log eval: qr/\brequest_headers: [^,]+/
--- grep_error_log_out
request_headers: :method: GET
request_headers: :path: /t?a=1
request_headers: :scheme: http
request_headers: :authority: localhost
request_headers: connection: close
request_headers: x-rep: 1
request_headers: x-rep: 2
request_headers: x-single: s
request_headers: 8 pairs
--- error_log
hostcalls: on_request_headers num_headers=8 end_of_stream=false
--- no_error_log
[error]
[alert]
[crit]



=== TEST 2: get values (first of repeated, case-insensitive name, absent is NotFound) and the map size
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("hostcalls", "t/plugins/hostcalls.wasm"))
        package.loaded.ctx = assert(wasm.on_configure(plugin, [=[{"on_request_headers": [
            {"op": "get", "map": "request_headers", "key": ":method"},
            {"op": "get", "map": "request_headers", "key": ":path"},
            {"op": "get", "map": "request_headers", "key": ":scheme"},
            {"op": "get", "map": "request_headers", "key": ":authority"},
            {"op": "get", "map": "request_headers", "key": "x-rep"},
            {"op": "get", "map": "request_headers", "key": "X-Single"},
            {"op": "get", "map": "request_headers", "key": "x-none"},
            {"op": "size", "map": "request_headers"}]}]=]))
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
POST /t/x?b=2
hello
--- more_headers
X-Rep: 1
X-Rep: 2
X-Single: s
--- response_body
ok
--- error_log
get request_headers ":method" -> Ok "POST"
get request_headers ":path" -> Ok "/t/x?b=2"
get request_headers ":scheme" -> Ok "http"
get request_headers ":authority" -> Ok "localhost"
get request_headers "x-rep" -> Ok "1"
get request_headers "X-Single" -> Ok "s"
get request_headers "x-none" -> NotFound
size request_headers -> Ok
--- no_error_log
[error]
[alert]
[crit]



=== TEST 3: add, replace, remove: nginx sees the result (lists, $http_* variables, nginx's own pointers)
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("hostcalls", "t/plugins/hostcalls.wasm"))
        package.loaded.ctx = assert(wasm.on_configure(plugin, [=[{"on_request_headers": [
            {"op": "add", "map": "request_headers", "key": "X-New", "value": "n"},
            {"op": "add", "map": "request_headers", "key": "x-rep", "value": "3"},
            {"op": "replace", "map": "request_headers", "key": "x-single", "value": "S2"},
            {"op": "replace", "map": "request_headers", "key": "x-absent", "value": "now"},
            {"op": "remove", "map": "request_headers", "key": "x-gone"},
            {"op": "remove", "map": "request_headers", "key": "user-agent"},
            {"op": "remove", "map": "request_headers", "key": "x-never-there"}]}]=]))
    }
--- config
    location /t {
        access_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            assert(wasm.on_http_request_headers(package.loaded.ctx))
        }
        content_by_lua_block {
            local h = ngx.req.get_headers()
            local keys = {}
            for k in pairs(h) do keys[#keys + 1] = k end
            table.sort(keys)
            for _, k in ipairs(keys) do
                local v = h[k]
                if type(v) == "table" then v = table.concat(v, ",") end
                ngx.say(k, ": ", v)
            end
            ngx.say("$http_user_agent: ", ngx.var.http_user_agent)
        }
    }
--- request
GET /t
--- more_headers
X-Gone: g
X-Rep: 1
User-Agent: ua
X-Rep: 2
X-Single: s
--- response_body
connection: close
host: localhost
x-absent: now
x-new: n
x-rep: 1,2,3
x-single: S2
$http_user_agent: nil
--- error_log
add request_headers "X-New" "n" -> Ok
replace request_headers "x-single" "S2" -> Ok
remove request_headers "x-gone" -> Ok
remove request_headers "x-never-there" -> Ok
--- no_error_log
[error]
[alert]
[crit]



=== TEST 4: the upstream gets the changed headers (removed ones are really gone), the new :path and :method
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("hostcalls", "t/plugins/hostcalls.wasm"))
        package.loaded.ctx = assert(wasm.on_configure(plugin, [=[{"on_request_headers": [
            {"op": "remove", "map": "request_headers", "key": "x-gone"},
            {"op": "remove", "map": "request_headers", "key": "x-last"},
            {"op": "add", "map": "request_headers", "key": "x-new", "value": "n"},
            {"op": "replace", "map": "request_headers", "key": ":path", "value": "/echo/a%20b?q=1"},
            {"op": "replace", "map": "request_headers", "key": ":method", "value": "PUT"},
            {"op": "get", "map": "request_headers", "key": ":path"}]}]=]))
    }
--- config
    location /t {
        access_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            assert(wasm.on_http_request_headers(package.loaded.ctx))
        }
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT;
    }
    location /echo {
        content_by_lua_block {
            ngx.say(ngx.req.get_method(), " ", ngx.var.request_uri)
            local h = ngx.req.get_headers()
            ngx.say("x-gone: ", h["x-gone"], ", x-last: ", h["x-last"], ", x-keep: ", h["x-keep"], ", x-new: ", h["x-new"])
        }
    }
--- request
GET /t
--- more_headers
X-Gone: g
X-Keep: k
X-Last: l
--- response_body
PUT /echo/a%20b?q=1
x-gone: nil, x-last: nil, x-keep: k, x-new: n
--- error_log
get request_headers ":path" -> Ok "/echo/a%20b?q=1"
--- no_error_log
[error]
[alert]
[crit]



=== TEST 5: setting :authority changes Host and $host, and nothing else (not the method)
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("hostcalls", "t/plugins/hostcalls.wasm"))
        package.loaded.ctx = assert(wasm.on_configure(plugin, [=[{"on_request_headers": [
            {"op": "replace", "map": "request_headers", "key": ":authority", "value": "Example.COM:8080"},
            {"op": "get", "map": "request_headers", "key": ":authority"},
            {"op": "get", "map": "request_headers", "key": ":method"}]}]=]))
    }
--- config
    location /t {
        access_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            assert(wasm.on_http_request_headers(package.loaded.ctx))
        }
        content_by_lua_block {
            ngx.say(ngx.req.get_method(), " host=", ngx.var.host, " http_host=", ngx.var.http_host)
        }
    }
--- request
GET /t
--- response_body
GET host=example.com http_host=Example.COM:8080
--- error_log
get request_headers ":authority" -> Ok "Example.COM:8080"
get request_headers ":method" -> Ok "GET"
--- no_error_log
[error]
[alert]
[crit]



=== TEST 6: set_header_map_pairs replaces every header, keeps repeated ones, leaves pseudo-headers alone
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("hostcalls", "t/plugins/hostcalls.wasm"))
        package.loaded.ctx = assert(wasm.on_configure(plugin, [=[{"on_request_headers": [
            {"op": "set_pairs", "map": "request_headers", "pairs": [["x-a", "1"], ["x-a", "2"], ["x-b", "3"]]},
            {"op": "log_pairs", "map": "request_headers"}]}]=]))
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
--- more_headers
X-Old: o
--- response_body
ok
--- grep_error_log eval: qr/\brequest_headers: [^,]+|set_pairs [^,]+/
--- grep_error_log_out
set_pairs request_headers (3 pairs) -> Ok
request_headers: :method: GET
request_headers: :path: /t
request_headers: :scheme: http
request_headers: :authority: localhost
request_headers: x-a: 1
request_headers: x-a: 2
request_headers: x-b: 3
request_headers: 7 pairs
--- no_error_log
[error]
[alert]
[crit]



=== TEST 7: pseudo-headers cannot be removed, :scheme cannot change, bad values are refused; the request goes on
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("hostcalls", "t/plugins/hostcalls.wasm"))
        package.loaded.ctx = assert(wasm.on_configure(plugin, [=[{"on_request_headers": [
            {"op": "remove", "map": "request_headers", "key": ":path"},
            {"op": "remove", "map": "request_headers", "key": ":method"},
            {"op": "replace", "map": "request_headers", "key": ":scheme", "value": "https"},
            {"op": "replace", "map": "request_headers", "key": ":path", "value": "no-slash"},
            {"op": "replace", "map": "request_headers", "key": ":path", "value": "/a b"},
            {"op": "replace", "map": "request_headers", "key": ":path", "value": "/x/../etc/passwd"},
            {"op": "replace", "map": "request_headers", "key": ":path", "value": "/x%00y"},
            {"op": "replace", "map": "request_headers", "key": ":method", "value": "G T"},
            {"op": "replace", "map": "request_headers", "key": ":authority", "value": "a/b"},
            {"op": "replace", "map": "request_headers", "key": ":other", "value": "x"},
            {"op": "add", "map": "request_headers", "key": "bad name", "value": "x"},
            {"op": "add", "map": "request_headers", "key": "x-crlf", "value": "a\r\nx-injected: 1"},
            {"op": "add", "map": "request_headers", "key": "content-length", "value": "12abc"},
            {"op": "get", "map": "request_headers", "key": ":path"},
            {"op": "get", "map": "request_headers", "key": ":method"}]}]=]))
    }
--- config
    location /t {
        access_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            assert(wasm.on_http_request_headers(package.loaded.ctx))
        }
        content_by_lua_block { ngx.say(ngx.req.get_method(), " ", ngx.var.request_uri, " ", tostring(ngx.req.get_headers()["x-injected"])) }
    }
--- request
GET /t
--- response_body
GET /t nil
--- error_log
remove request_headers ":path" -> BadArgument
remove request_headers ":method" -> BadArgument
replace request_headers ":scheme" "https" -> BadArgument
replace request_headers ":path" "no-slash" -> BadArgument
replace request_headers ":path" "/a b" -> BadArgument
replace request_headers ":path" "/x/../etc/passwd" -> BadArgument
replace request_headers ":path" "/x%00y" -> BadArgument
replace request_headers ":method" "G T" -> BadArgument
replace request_headers ":authority" "a/b" -> BadArgument
replace request_headers ":other" "x" -> BadArgument
add request_headers "bad name" "x" -> BadArgument
add request_headers "content-length" "12abc" -> BadArgument
get request_headers ":path" -> Ok "/t"
get request_headers ":method" -> Ok "GET"
proxy-wasm: the pseudo-header ":path" cannot be removed
proxy-wasm: nginx cannot change the :scheme of a request
add request_headers "x-crlf" "a\r\nx-injected: 1" -> BadArgument
--- no_error_log
[error]
[alert]
[crit]



=== TEST 8: unknown map types are BadArgument, maps that do not exist here are NotFound, nothing crashes
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("hostcalls", "t/plugins/hostcalls.wasm"))
        package.loaded.ctx = assert(wasm.on_configure(plugin, [=[{"on_request_headers": [
            {"op": "log_pairs", "map": 99},
            {"op": "get", "map": 8, "key": "a"},
            {"op": "add", "map": 4294967295, "key": "a", "value": "b"},
            {"op": "size", "map": 99},
            {"op": "get", "map": "request_trailers", "key": "a"},
            {"op": "add", "map": "http_call_response_headers", "key": "a", "value": "b"},
            {"op": "log", "msg": "still running"}]}]=]))
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
--- response_body
ok
--- error_log
type 99: -> BadArgument
get type 8 "a" -> BadArgument
add type 4294967295 "a" "b" -> BadArgument
size type 99 -> BadArgument
get request_trailers "a" -> NotFound
add http_call_response_headers "a" "b" -> NotFound
hostcalls: on_request_headers: still running
--- no_error_log
[error]
[alert]
[crit]



=== TEST 9: a name-based port (as the SDK's http_routing sets it) is taken as nginx takes a Host: $host is the name, nginx routes on it
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("hostcalls", "t/plugins/hostcalls.wasm"))
        package.loaded.ctx = assert(wasm.on_configure(plugin, [=[{"on_request_headers": [
            {"op": "replace", "map": "request_headers", "key": ":authority", "value": "localhost:29153-canary"},
            {"op": "get", "map": "request_headers", "key": ":authority"}]}]=]))
    }
    # The first server on the port is its default: a Host whose name is not "localhost" lands here.
    server {
        listen $TEST_NGINX_SERVER_PORT;
        server_name other.example;
        location / { return 200 "the default server\n"; }
    }
--- config
    location /t {
        access_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            assert(wasm.on_http_request_headers(package.loaded.ctx))
        }
        add_header X-Seen "host=$host http_host=$http_host" always;
        proxy_set_header Host $http_host;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/echo;
    }
    location /echo {
        content_by_lua_block {
            ngx.say("server=", ngx.var.server_name, " host=", ngx.var.host, " http_host=", ngx.var.http_host)
        }
    }
--- request
GET /t
--- response_headers
X-Seen: host=localhost http_host=localhost:29153-canary
--- response_body
server=localhost host=localhost http_host=localhost:29153-canary
--- error_log
replace request_headers ":authority" "localhost:29153-canary" -> Ok
get request_headers ":authority" -> Ok "localhost:29153-canary"
--- no_error_log
bad :authority
[error]
[alert]
[crit]



=== TEST 10: an :authority nginx refuses as a Host ('/', "..", a space) is still refused with a warning; the request goes on unchanged
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("hostcalls", "t/plugins/hostcalls.wasm"))
        package.loaded.ctx = assert(wasm.on_configure(plugin, [=[{"on_request_headers": [
            {"op": "replace", "map": "request_headers", "key": ":authority", "value": "localhost/canary"},
            {"op": "replace", "map": "request_headers", "key": ":authority", "value": "localhost:1..2"},
            {"op": "replace", "map": "request_headers", "key": ":authority", "value": "local host"},
            {"op": "replace", "map": "request_headers", "key": ":authority", "value": ":29153"},
            {"op": "get", "map": "request_headers", "key": ":authority"}]}]=]))
    }
--- config
    location /t {
        access_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            assert(wasm.on_http_request_headers(package.loaded.ctx))
        }
        content_by_lua_block { ngx.say("host=", ngx.var.host, " http_host=", ngx.var.http_host) }
    }
--- request
GET /t
--- response_body
host=localhost http_host=localhost
--- error_log eval
[qr/\[warn\] .*proxy-wasm: bad :authority "localhost\/canary"/,
qr/\[warn\] .*proxy-wasm: bad :authority "localhost:1\.\.2"/,
qr/\[warn\] .*proxy-wasm: bad :authority "local host"/,
qr/\[warn\] .*proxy-wasm: bad :authority ":29153"/,
qr/replace request_headers ":authority" "localhost\/canary" -> BadArgument/,
qr/get request_headers ":authority" -> Ok "localhost"/]
--- no_error_log
[error]
[alert]
[crit]
