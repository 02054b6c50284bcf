# Trailers: response trailers a plugin adds are sent by nginx (the response becomes chunked); request trailers
# and gRPC metadata do not exist in this host: reading gives an empty map, changes are ignored, one log line per
# instance (always Ok: the SDKs trap on any other status from map calls). Plugin: t/plugins/hostcalls (config-driven) on the directive path; a cosocket shows the raw response.
use Test::Nginx::Socket::Lua 'no_plan';

log_level('info');
no_shuffle();
run_tests();

__DATA__

=== TEST 1: trailers added in on_response_headers and on_response_body end the chunked response
--- http_config
    wasm_plugin hostcalls ../../t/plugins/hostcalls.wasm;
--- config
    location /inner {
        proxy_wasm hostcalls '{"on_response_headers": [{"op": "add", "map": "response_trailers", "key": "X-Checksum", "value": "abc"}],
                               "on_response_body": [{"op": "replace", "map": "response_trailers", "key": "x-count", "value": "2", "if_eos": true},
                                                    {"op": "log_pairs", "map": "response_trailers", "if_eos": true}]}';
        return 200 "inner\n";
    }
    location /t {
        content_by_lua_block {
            local sock = ngx.socket.tcp()
            assert(sock:connect("127.0.0.1", ngx.var.server_port))
            assert(sock:send("GET /inner HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"))
            local raw = assert(sock:receive("*a"))
            ngx.say("chunked: ", raw:find("\r\nTransfer-Encoding: chunked\r\n", 1, true) ~= nil)
            ngx.say("content-length: ", raw:find("\r\nContent-Length:", 1, true) ~= nil)
            ngx.say((raw:match("\r\n0\r\n(.*)$"):gsub("\r\n", "|")))
        }
    }
--- request
GET /t
--- response_body
chunked: true
content-length: false
x-checksum: abc|x-count: 2||
--- grep_error_log eval: qr/hostcalls: on_response_body: response_trailers: [^,]*/
--- grep_error_log_out
hostcalls: on_response_body: response_trailers: x-checksum: abc
hostcalls: on_response_body: response_trailers: x-count: 2
hostcalls: on_response_body: response_trailers: 2 pairs
--- no_error_log
[error]
[alert]
[crit]



=== TEST 2: a trailer for a response that went out without chunked encoding (HTTP/1.0) is dropped with a log line
--- http_config
    wasm_plugin hostcalls ../../t/plugins/hostcalls.wasm;
--- config
    location /t {
        proxy_wasm hostcalls '{"on_response_body": [{"op": "add", "map": "response_trailers", "key": "x-late", "value": "1", "if_eos": true}]}';
        return 200 "body\n";
    }
--- request
GET /t HTTP/1.0
--- response_body
body
--- error_log
hostcalls: on_response_body: add response_trailers "x-late" "1" -> Ok
response trailer "x-late" dropped: the response header went out without chunked encoding
--- no_error_log
[error]
[alert]
[crit]



=== TEST 3: request trailers and gRPC metadata: empty to read, changes ignored (Ok, as SDKs need), one warning per instance
--- http_config
    lua_package_path "t/lib/?.lua;;";
    wasm_plugin hostcalls ../../t/plugins/hostcalls.wasm;
--- config
    location /p {
        proxy_wasm hostcalls '{"on_request_headers": [{"op": "log_pairs", "map": "request_trailers"},
                                                      {"op": "get", "map": "request_trailers", "key": "x"},
                                                      {"op": "add", "map": "request_trailers", "key": "x", "value": "1"},
                                                      {"op": "size", "map": "grpc_receive_initial_metadata"},
                                                      {"op": "remove", "map": "grpc_receive_trailing_metadata", "key": "x"}]}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/ok;
    }
    location = /ok {
        return 200 "ok\n";
    }
    location = /t {
        content_by_lua_block {
            local seq = require("seq")
            for _ = 1, 2 do
                local status, body = seq.get("/p")
                ngx.print(status, " ", body)
            end
        }
    }
--- request
GET /t
--- response_body
200 ok
200 ok
--- grep_error_log eval: qr/seq: GET [^,\s]+|hostcalls: on_request_headers: [^,]*|(?:request trailers|gRPC metadata) are not available in this host/
--- grep_error_log_out
seq: GET /p
request trailers are not available in this host
hostcalls: on_request_headers: request_trailers: 0 pairs
hostcalls: on_request_headers: get request_trailers "x" -> NotFound
hostcalls: on_request_headers: add request_trailers "x" "1" -> Ok
gRPC metadata are not available in this host
hostcalls: on_request_headers: size grpc_receive_initial_metadata -> Ok 4
hostcalls: on_request_headers: remove grpc_receive_trailing_metadata "x" -> Ok
seq: GET /p
hostcalls: on_request_headers: request_trailers: 0 pairs
hostcalls: on_request_headers: get request_trailers "x" -> NotFound
hostcalls: on_request_headers: add request_trailers "x" "1" -> Ok
hostcalls: on_request_headers: size grpc_receive_initial_metadata -> Ok 4
hostcalls: on_request_headers: remove grpc_receive_trailing_metadata "x" -> Ok
--- no_error_log
[error]
[alert]
[crit]
