# A plugin in standard Go (t/plugins/go_plugin: Go 1.24, GOOS=wasip1, the ABI without an SDK) on the directive
# path: Go's time.Sleep goes through WASI poll_oneoff with a clock subscription, bounded by the call's deadline;
# a Go panic reaches the log with its own message, line by line (Go's runtime writes it in pieces), and not
# hidden behind a poll_oneoff failure; the request fails per the failure policy, the worker lives on (same pid),
# the next request gets a fresh instance. The Lua entrance: t/53-go-plugin.t.
use Test::Nginx::Socket 'no_plan';

master_on();
workers(1);
log_level('info');
no_shuffle();
run_tests();

__DATA__

=== TEST 1: a Go time.Sleep in proxy_on_request_headers sleeps as long as asked; the request goes on
--- http_config
    wasm_plugin go ../../t/plugins/go_plugin.wasm time_limit=50ms;
--- config
    location = /t {
        proxy_wasm go sleep;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "up\n";
    }
--- request
GET /t
--- response_body
up
--- error_log
wasm plugin "go": go_plugin: slept 5 ms (at least that long passed)
--- no_error_log
[error]
[alert]
[crit]



=== TEST 2: a Go panic: its message reaches the log line by line, not a poll_oneoff error; 500 (closed), the worker lives on, the next request runs in a fresh instance
--- http_config
    wasm_plugin go ../../t/plugins/go_plugin.wasm time_limit=50ms;
--- config
    location = /panic {
        proxy_wasm go panic;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /sleep {
        proxy_wasm go sleep;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "up\n";
    }
    location = /pid {
        return 200 "pid $pid\n";
    }
    location /via/ {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/;
    }
    location = /seq {
        ssi on;
        ssi_types *;
        alias html/seq.html;
    }
--- user_files
>>> seq.html
<!--# include virtual="/pid" wait="yes" -->
<!--# include virtual="/via/panic" wait="yes" -->
<!--# include virtual="/pid" wait="yes" -->
<!--# include virtual="/via/sleep" wait="yes" -->
<!--# include virtual="/pid" wait="yes" -->
--- request
GET /seq
--- response_body_like eval
qr{\Apid (\d+)\n\n<html>\r\n<head><title>500 Internal Server Error</title></head>\r\n.*?</html>\r\n\npid \1\n\nup\n\npid \1\n\n\z}s
--- grep_error_log eval: qr/wasm plugin "go": (?:panic: [^,]*|goroutine 1 \[running\]:|go_plugin: slept[^,]*|proxy_on_request_headers failed: [^,]*|a fresh instance replaces the one that trapped)/
--- grep_error_log_out
wasm plugin "go": panic: go_plugin: the plugin's own panic message
wasm plugin "go": goroutine 1 [running]:
wasm plugin "go": proxy_on_request_headers failed: proxy_on_request_headers trapped: wasm trap: wasm `unreachable` instruction executed; failing the request (proxy_wasm_failure closed)
wasm plugin "go": a fresh instance replaces the one that trapped
wasm plugin "go": go_plugin: slept 5 ms (at least that long passed)
--- no_error_log
fatal error
panic during panic
poll_oneoff
[alert]
[crit]



=== TEST 3: a Go time.Sleep past the plugin's time_limit is cut at the deadline: 500 (closed), one [error] line
--- http_config
    wasm_plugin go ../../t/plugins/go_plugin.wasm time_limit=50ms;
--- config
    location = /t {
        proxy_wasm go sleep-long;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "up\n";
    }
--- request
GET /t
--- error_code: 500
--- grep_error_log eval: qr/\[error\].*?wasm plugin "go": [^,]*/
--- grep_error_log_out eval
qr/\A\[error\].*?wasm plugin "go": proxy_on_request_headers failed: proxy_on_request_headers trapped: interrupted: ran past its time limit of 50 ms; failing the request \(proxy_wasm_failure closed\)\n\z/
--- no_error_log
go_plugin: slept
[alert]
[crit]
