# Response bodies nginx holds in files (a static file sent with sendfile) reach proxy_on_response_body: the
# body filter reads the file buffers instead of skipping the plugin. Plugin: t/plugins/hostcalls.
use Test::Nginx::Socket 'no_plan';

log_level('info');
no_shuffle();
run_tests();

__DATA__

=== TEST 1: a static file sent with sendfile: the plugin sees its bytes and its change reaches the client
--- http_config
    wasm_plugin hostcalls ../../t/plugins/hostcalls.wasm;
--- config
    location /static/ {
        sendfile on;
        alias html/;
        proxy_wasm hostcalls '{"on_response_body": [{"op": "get_body"}, {"op": "set_body", "value": "!", "mode": "append", "if_eos": true}]}';
    }
--- user_files
>>> page.txt
hello from a file
--- request
GET /static/page.txt
--- response_body eval
"hello from a file\n!"
--- grep_error_log eval: qr/hostcalls: on_response_body: get_body response_body -> \w+ "[^"]*"/
--- grep_error_log_out
hostcalls: on_response_body: get_body response_body -> Ok "hello from a file\n"
--- no_error_log
[error]
[alert]
[crit]



=== TEST 2: the same file without sendfile (read into memory by nginx): the same answer
--- http_config
    wasm_plugin hostcalls ../../t/plugins/hostcalls.wasm;
--- config
    location /static/ {
        sendfile off;
        alias html/;
        proxy_wasm hostcalls '{"on_response_body": [{"op": "get_body"}, {"op": "set_body", "value": "!", "mode": "append", "if_eos": true}]}';
    }
--- user_files
>>> page.txt
hello from a file
--- request
GET /static/page.txt
--- response_body eval
"hello from a file\n!"
--- grep_error_log eval: qr/hostcalls: on_response_body: get_body response_body -> \w+ "[^"]*"/
--- grep_error_log_out
hostcalls: on_response_body: get_body response_body -> Ok "hello from a file\n"
--- no_error_log
[error]
[alert]
[crit]
