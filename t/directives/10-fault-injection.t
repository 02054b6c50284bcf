# The directive path, with no Lua at all: plugins declared with wasm_plugin and attached with proxy_wasm run
# in the module's own access phase handler.
use Test::Nginx::Socket 'no_plan';

log_level('info');
no_shuffle();
run_tests();

__DATA__

=== TEST 1: 200 hello world from the fault-injection plugin
--- http_config
    wasm_plugin fault_injection ../../t/plugins/fault_injection.wasm;
--- config
    location /t {
        proxy_wasm fault_injection '{"body":"hello world","http_status":200}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/upstream;
    }
    location = /upstream {
        return 200 "upstream\n";
    }
--- request
GET /t
--- error_code: 200
--- response_headers
Content-Type: text/plain
Content-Length: 11
--- response_body chomp
hello world
--- no_error_log
[error]
[alert]
[crit]



=== TEST 2: 403 with the configured body, every time
--- http_config
    wasm_plugin fault_injection ../../t/plugins/fault_injection.wasm;
--- config
    location /t {
        proxy_wasm fault_injection '{"body":"denied\\n","http_status":403}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/upstream;
    }
    location = /upstream {
        return 200 "upstream\n";
    }
--- request eval
["GET /t", "GET /t"]
--- error_code eval
[403, 403]
--- response_body eval
["denied\n", "denied\n"]
--- no_error_log
[error]
[alert]
[crit]



=== TEST 3: an empty body gives nginx's own error page
--- http_config
    wasm_plugin fault_injection ../../t/plugins/fault_injection.wasm;
--- config
    location /t {
        proxy_wasm fault_injection '{"http_status":503}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/upstream;
    }
    location = /upstream {
        return 200 "upstream\n";
    }
--- request
GET /t
--- error_code: 503
--- response_body_like: <title>503 Service Temporarily Unavailable</title>
--- no_error_log
[error]
[alert]
[crit]



=== TEST 4: a location without proxy_wasm is untouched
--- http_config
    wasm_plugin fault_injection ../../t/plugins/fault_injection.wasm;
--- config
    location /t {
        proxy_wasm fault_injection '{"body":"injected\\n","http_status":200}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/upstream;
    }
    location = /upstream {
        return 200 "upstream\n";
    }
    location /other {
        return 200 "other\n";
    }
--- request
GET /other
--- response_body
other
--- no_error_log
[error]
[alert]
[crit]



=== TEST 5: proxy_wasm at server level is inherited by locations; a location's own proxy_wasm replaces it
--- http_config
    wasm_plugin fault_injection ../../t/plugins/fault_injection.wasm;
--- config
    proxy_wasm fault_injection '{"body":"from server\\n","http_status":200}';
    location /inherit {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/upstream;
    }
    location = /upstream {
        return 200 "upstream\n";
    }
    location /own {
        proxy_wasm fault_injection '{"body":"from location\\n","http_status":202}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/upstream;
    }
--- request eval
["GET /inherit", "GET /own"]
--- error_code eval
[200, 202]
--- response_body eval
["from server\n", "from location\n"]
--- no_error_log
[error]
[alert]
[crit]
