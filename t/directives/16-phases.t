# Every phase of the directive path, with a chain of two plugins: request headers (access phase), response
# headers (header filter), response body (body filter), on_log (log phase); the second plugin of a chain sees
# what the first one did. Plugin: t/plugins/hostcalls (config-driven), twice.
use Test::Nginx::Socket 'no_plan';

log_level('info');
no_shuffle();
run_tests();

__DATA__

=== TEST 1: two plugins, every phase, in chain order
--- http_config
    wasm_plugin hostcalls ../../t/plugins/hostcalls.wasm;
--- config
    location /t {
        proxy_wasm hostcalls '{"on_request_headers": [{"op": "add", "map": "request_headers", "key": "x-first", "value": "1"}],
                               "on_response_headers": [{"op": "add", "map": "response_headers", "key": "x-first", "value": "1"}],
                               "on_response_body": [{"op": "set_body", "value": "[first]", "mode": "append", "if_eos": true}],
                               "on_log": [{"op": "log", "msg": "first logs"}]}';
        proxy_wasm hostcalls '{"on_request_headers": [{"op": "get", "map": "request_headers", "key": "x-first"}],
                               "on_response_headers": [{"op": "get", "map": "response_headers", "key": "x-first"}, {"op": "add", "map": "response_headers", "key": "x-second", "value": "2"}],
                               "on_response_body": [{"op": "set_body", "value": "[second]", "mode": "append", "if_eos": true}],
                               "on_log": [{"op": "get_property", "path": ["response", "code"]}, {"op": "log", "msg": "second logs"}]}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/upstream;
    }
    location = /upstream {
        return 200 "upstream saw x-first=$http_x_first";
    }
--- request
GET /t
--- response_headers
X-First: 1
X-Second: 2
--- response_body chomp
upstream saw x-first=1[first][second]
--- grep_error_log eval: qr/hostcalls: on_(?:request_headers|response_headers|log): (?:get|first|second)[^,]*?(?=,| while)/
--- grep_error_log_out
hostcalls: on_request_headers: get request_headers "x-first" -> Ok "1"
hostcalls: on_response_headers: get response_headers "x-first" -> Ok "1"
hostcalls: on_log: first logs
hostcalls: on_log: get_property response.code -> Ok "200"
hostcalls: on_log: second logs
--- no_error_log
[error]
[alert]
[crit]
