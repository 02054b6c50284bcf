# The failure matrix of the directive path (issue 14): a plugin (t/plugins/hostile, Rust SDK) fails in each
# HTTP callback in each way (panic, an endless loop stopped at time_limit, allocation until memory_limit traps),
# under proxy_wasm_failure closed and open; ticks and queue events fail too. Each block asserts the client's
# answer, that none of the plugin's later callbacks ran for the failed request, exactly one [error] line (plugin,
# callback, cause), that the next request runs in a fresh instance and is answered normally, and that the worker
# never died (same pid before and after, no [alert]).
#
# The shape of a block, valid under the real Test::Nginx and the project's runner alike: the real library checks
# the error log after every request of a multi-request block against the same expectations (grep_error_log_out
# arrays are indexed by the repeat_each index, not by request), so a sequence whose requests log different lines
# cannot be asserted exactly over several requests. Each block therefore sends ONE request, GET /seq, whose SSI
# page makes the real requests one after the other (include ... wait="yes"): the worker's $pid, the failing
# request (proxied with X-Fail: 1, so a real HTTP request in its own connection), the $pid again, a request
# without the header (the plugin does not fail on it), and the $pid a third time. With one worker (master_on,
# workers(1)) all of them are served by the worker that serves /seq: a worker that died would cut /seq short and
# be respawned with another pid, which the master logs at [alert] ("exited on signal"). The body is matched with
# one regex whose backreference \1 asserts that the three pids are equal; the error log of the whole sequence is
# asserted line by line with one grep_error_log_out: the plugin's own "hostile: <callback> ran" lines (info) show
# which callbacks ran, "[error]" stands for each error line (its text is checked by error_log), and the host's
# warning "a fresh instance replaces the one that trapped" shows where the next request got a fresh instance.
#
# When a response body callback fails under closed, nothing of the response has left yet: the proxying driver sees
# the connection closed before a response header and logs its own [error] ("upstream prematurely closed
# connection"), counted on its own line; t/43-failure-matrix-lua.t shows the same abort to an HTTP/1.1 client after
# chunks were sent (the last chunk never comes). Ticks and queue events have no request: the sequence pauses
# (limit_req) so that they happen while /seq is being served. The blocks were generated (one per case) and spell
# everything out, as every suite of this project does.
use Test::Nginx::Socket 'no_plan';

master_on();
workers(1);
log_level('info');
no_shuffle();
run_tests();

__DATA__

=== TEST 1: request_headers, panic, closed: 500, one [error] line, no later callback; the next request runs in a fresh instance
--- http_config
    wasm_plugin hostile ../../t/plugins/hostile.wasm time_limit=20ms memory_limit=16m;
--- config
    location = /t {
        proxy_wasm_failure closed;
        proxy_wasm hostile '{"fail": "request_headers", "how": "panic", "when": "header"}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/upstream;
    }
    location = /upstream {
        return 200 "upstream\n";
    }
    location = /pid {
        return 200 "pid $pid\n";
    }
    location /fail/ {
        proxy_method POST;
        proxy_set_body "payload";
        proxy_set_header X-Fail 1;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/;
    }
    location /pass/ {
        proxy_method POST;
        proxy_set_body "payload";
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
<!--# include virtual="/fail/t" wait="yes" -->
<!--# include virtual="/pid" wait="yes" -->
<!--# include virtual="/pass/t" wait="yes" -->
<!--# include virtual="/pid" wait="yes" -->
--- request
GET /seq
--- response_body_like eval
qr{\Apid (\d+)\n\n<html>\r\n<head><title>500 Internal Server Error</title></head>\r\n.*?</html>\r\n\npid \1\n\nupstream\n\npid \1\n\n\z}s
--- grep_error_log eval: qr/\[(?:error|alert|crit|emerg)\](?!.*upstream prematurely closed connection)|upstream prematurely closed connection|a fresh instance replaces the one that trapped|hostile: (?:\w+ ran|failing in \w+|enqueued [\w-]+|dequeued [\w-]+|ticks stopped)/
--- grep_error_log_out
hostile: on_request_headers ran
hostile: failing in on_request_headers
[error]
a fresh instance replaces the one that trapped
hostile: on_request_headers ran
hostile: on_request_body ran
hostile: on_response_headers ran
hostile: on_response_body ran
hostile: on_done ran
hostile: on_log ran
--- error_log eval
qr/\[error\] .*wasm plugin "hostile": proxy_on_request_headers failed: proxy_on_request_headers trapped: wasm trap: wasm `unreachable` instruction executed[^,]*; failing the request \(proxy_wasm_failure closed\)/
--- no_error_log
[alert]
[crit]
[emerg]
exited on signal



=== TEST 2: request_headers, panic, open: the upstream's answer, one [error] line, no later callback; the next request runs in a fresh instance
--- http_config
    wasm_plugin hostile ../../t/plugins/hostile.wasm time_limit=20ms memory_limit=16m;
--- config
    location = /t {
        proxy_wasm_failure open;
        proxy_wasm hostile '{"fail": "request_headers", "how": "panic", "when": "header"}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/upstream;
    }
    location = /upstream {
        return 200 "upstream\n";
    }
    location = /pid {
        return 200 "pid $pid\n";
    }
    location /fail/ {
        proxy_method POST;
        proxy_set_body "payload";
        proxy_set_header X-Fail 1;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/;
    }
    location /pass/ {
        proxy_method POST;
        proxy_set_body "payload";
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
<!--# include virtual="/fail/t" wait="yes" -->
<!--# include virtual="/pid" wait="yes" -->
<!--# include virtual="/pass/t" wait="yes" -->
<!--# include virtual="/pid" wait="yes" -->
--- request
GET /seq
--- response_body_like eval
qr{\Apid (\d+)\n\nupstream\n\npid \1\n\nupstream\n\npid \1\n\n\z}s
--- grep_error_log eval: qr/\[(?:error|alert|crit|emerg)\](?!.*upstream prematurely closed connection)|upstream prematurely closed connection|a fresh instance replaces the one that trapped|hostile: (?:\w+ ran|failing in \w+|enqueued [\w-]+|dequeued [\w-]+|ticks stopped)/
--- grep_error_log_out
hostile: on_request_headers ran
hostile: failing in on_request_headers
[error]
a fresh instance replaces the one that trapped
hostile: on_request_headers ran
hostile: on_request_body ran
hostile: on_response_headers ran
hostile: on_response_body ran
hostile: on_done ran
hostile: on_log ran
--- error_log eval
qr/\[error\] .*wasm plugin "hostile": proxy_on_request_headers failed: proxy_on_request_headers trapped: wasm trap: wasm `unreachable` instruction executed[^,]*; continuing without it \(proxy_wasm_failure open\)/
--- no_error_log
[alert]
[crit]
[emerg]
exited on signal



=== TEST 3: request_headers, spin, closed: 500, one [error] line, no later callback; the next request runs in a fresh instance
--- http_config
    wasm_plugin hostile ../../t/plugins/hostile.wasm time_limit=20ms memory_limit=16m;
--- config
    location = /t {
        proxy_wasm_failure closed;
        proxy_wasm hostile '{"fail": "request_headers", "how": "spin", "when": "header"}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/upstream;
    }
    location = /upstream {
        return 200 "upstream\n";
    }
    location = /pid {
        return 200 "pid $pid\n";
    }
    location /fail/ {
        proxy_method POST;
        proxy_set_body "payload";
        proxy_set_header X-Fail 1;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/;
    }
    location /pass/ {
        proxy_method POST;
        proxy_set_body "payload";
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
<!--# include virtual="/fail/t" wait="yes" -->
<!--# include virtual="/pid" wait="yes" -->
<!--# include virtual="/pass/t" wait="yes" -->
<!--# include virtual="/pid" wait="yes" -->
--- request
GET /seq
--- response_body_like eval
qr{\Apid (\d+)\n\n<html>\r\n<head><title>500 Internal Server Error</title></head>\r\n.*?</html>\r\n\npid \1\n\nupstream\n\npid \1\n\n\z}s
--- grep_error_log eval: qr/\[(?:error|alert|crit|emerg)\](?!.*upstream prematurely closed connection)|upstream prematurely closed connection|a fresh instance replaces the one that trapped|hostile: (?:\w+ ran|failing in \w+|enqueued [\w-]+|dequeued [\w-]+|ticks stopped)/
--- grep_error_log_out
hostile: on_request_headers ran
hostile: failing in on_request_headers
[error]
a fresh instance replaces the one that trapped
hostile: on_request_headers ran
hostile: on_request_body ran
hostile: on_response_headers ran
hostile: on_response_body ran
hostile: on_done ran
hostile: on_log ran
--- error_log eval
qr/\[error\] .*wasm plugin "hostile": proxy_on_request_headers failed: proxy_on_request_headers trapped: interrupted: ran past its time limit of 20 ms[^,]*; failing the request \(proxy_wasm_failure closed\)/
--- no_error_log
[alert]
[crit]
[emerg]
exited on signal



=== TEST 4: request_headers, spin, open: the upstream's answer, one [error] line, no later callback; the next request runs in a fresh instance
--- http_config
    wasm_plugin hostile ../../t/plugins/hostile.wasm time_limit=20ms memory_limit=16m;
--- config
    location = /t {
        proxy_wasm_failure open;
        proxy_wasm hostile '{"fail": "request_headers", "how": "spin", "when": "header"}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/upstream;
    }
    location = /upstream {
        return 200 "upstream\n";
    }
    location = /pid {
        return 200 "pid $pid\n";
    }
    location /fail/ {
        proxy_method POST;
        proxy_set_body "payload";
        proxy_set_header X-Fail 1;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/;
    }
    location /pass/ {
        proxy_method POST;
        proxy_set_body "payload";
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
<!--# include virtual="/fail/t" wait="yes" -->
<!--# include virtual="/pid" wait="yes" -->
<!--# include virtual="/pass/t" wait="yes" -->
<!--# include virtual="/pid" wait="yes" -->
--- request
GET /seq
--- response_body_like eval
qr{\Apid (\d+)\n\nupstream\n\npid \1\n\nupstream\n\npid \1\n\n\z}s
--- grep_error_log eval: qr/\[(?:error|alert|crit|emerg)\](?!.*upstream prematurely closed connection)|upstream prematurely closed connection|a fresh instance replaces the one that trapped|hostile: (?:\w+ ran|failing in \w+|enqueued [\w-]+|dequeued [\w-]+|ticks stopped)/
--- grep_error_log_out
hostile: on_request_headers ran
hostile: failing in on_request_headers
[error]
a fresh instance replaces the one that trapped
hostile: on_request_headers ran
hostile: on_request_body ran
hostile: on_response_headers ran
hostile: on_response_body ran
hostile: on_done ran
hostile: on_log ran
--- error_log eval
qr/\[error\] .*wasm plugin "hostile": proxy_on_request_headers failed: proxy_on_request_headers trapped: interrupted: ran past its time limit of 20 ms[^,]*; continuing without it \(proxy_wasm_failure open\)/
--- no_error_log
[alert]
[crit]
[emerg]
exited on signal



=== TEST 5: request_headers, grow, closed: 500, one [error] line, no later callback; the next request runs in a fresh instance
--- http_config
    wasm_plugin hostile ../../t/plugins/hostile.wasm time_limit=20ms memory_limit=16m;
--- config
    location = /t {
        proxy_wasm_failure closed;
        proxy_wasm hostile '{"fail": "request_headers", "how": "grow", "when": "header"}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/upstream;
    }
    location = /upstream {
        return 200 "upstream\n";
    }
    location = /pid {
        return 200 "pid $pid\n";
    }
    location /fail/ {
        proxy_method POST;
        proxy_set_body "payload";
        proxy_set_header X-Fail 1;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/;
    }
    location /pass/ {
        proxy_method POST;
        proxy_set_body "payload";
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
<!--# include virtual="/fail/t" wait="yes" -->
<!--# include virtual="/pid" wait="yes" -->
<!--# include virtual="/pass/t" wait="yes" -->
<!--# include virtual="/pid" wait="yes" -->
--- request
GET /seq
--- response_body_like eval
qr{\Apid (\d+)\n\n<html>\r\n<head><title>500 Internal Server Error</title></head>\r\n.*?</html>\r\n\npid \1\n\nupstream\n\npid \1\n\n\z}s
--- grep_error_log eval: qr/\[(?:error|alert|crit|emerg)\](?!.*upstream prematurely closed connection)|upstream prematurely closed connection|a fresh instance replaces the one that trapped|hostile: (?:\w+ ran|failing in \w+|enqueued [\w-]+|dequeued [\w-]+|ticks stopped)/
--- grep_error_log_out
hostile: on_request_headers ran
hostile: failing in on_request_headers
[error]
a fresh instance replaces the one that trapped
hostile: on_request_headers ran
hostile: on_request_body ran
hostile: on_response_headers ran
hostile: on_response_body ran
hostile: on_done ran
hostile: on_log ran
--- error_log eval
qr/\[error\] .*wasm plugin "hostile": proxy_on_request_headers failed: proxy_on_request_headers trapped: .*memory[^,]*; failing the request \(proxy_wasm_failure closed\)/
--- no_error_log
[alert]
[crit]
[emerg]
exited on signal



=== TEST 6: request_headers, grow, open: the upstream's answer, one [error] line, no later callback; the next request runs in a fresh instance
--- http_config
    wasm_plugin hostile ../../t/plugins/hostile.wasm time_limit=20ms memory_limit=16m;
--- config
    location = /t {
        proxy_wasm_failure open;
        proxy_wasm hostile '{"fail": "request_headers", "how": "grow", "when": "header"}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/upstream;
    }
    location = /upstream {
        return 200 "upstream\n";
    }
    location = /pid {
        return 200 "pid $pid\n";
    }
    location /fail/ {
        proxy_method POST;
        proxy_set_body "payload";
        proxy_set_header X-Fail 1;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/;
    }
    location /pass/ {
        proxy_method POST;
        proxy_set_body "payload";
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
<!--# include virtual="/fail/t" wait="yes" -->
<!--# include virtual="/pid" wait="yes" -->
<!--# include virtual="/pass/t" wait="yes" -->
<!--# include virtual="/pid" wait="yes" -->
--- request
GET /seq
--- response_body_like eval
qr{\Apid (\d+)\n\nupstream\n\npid \1\n\nupstream\n\npid \1\n\n\z}s
--- grep_error_log eval: qr/\[(?:error|alert|crit|emerg)\](?!.*upstream prematurely closed connection)|upstream prematurely closed connection|a fresh instance replaces the one that trapped|hostile: (?:\w+ ran|failing in \w+|enqueued [\w-]+|dequeued [\w-]+|ticks stopped)/
--- grep_error_log_out
hostile: on_request_headers ran
hostile: failing in on_request_headers
[error]
a fresh instance replaces the one that trapped
hostile: on_request_headers ran
hostile: on_request_body ran
hostile: on_response_headers ran
hostile: on_response_body ran
hostile: on_done ran
hostile: on_log ran
--- error_log eval
qr/\[error\] .*wasm plugin "hostile": proxy_on_request_headers failed: proxy_on_request_headers trapped: .*memory[^,]*; continuing without it \(proxy_wasm_failure open\)/
--- no_error_log
[alert]
[crit]
[emerg]
exited on signal



=== TEST 7: request_body, panic, closed: 500, one [error] line, no later callback; the next request runs in a fresh instance
--- http_config
    wasm_plugin hostile ../../t/plugins/hostile.wasm time_limit=20ms memory_limit=16m;
--- config
    location = /t {
        proxy_wasm_failure closed;
        proxy_wasm hostile '{"fail": "request_body", "how": "panic", "when": "header"}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/upstream;
    }
    location = /upstream {
        return 200 "upstream\n";
    }
    location = /pid {
        return 200 "pid $pid\n";
    }
    location /fail/ {
        proxy_method POST;
        proxy_set_body "payload";
        proxy_set_header X-Fail 1;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/;
    }
    location /pass/ {
        proxy_method POST;
        proxy_set_body "payload";
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
<!--# include virtual="/fail/t" wait="yes" -->
<!--# include virtual="/pid" wait="yes" -->
<!--# include virtual="/pass/t" wait="yes" -->
<!--# include virtual="/pid" wait="yes" -->
--- request
GET /seq
--- response_body_like eval
qr{\Apid (\d+)\n\n<html>\r\n<head><title>500 Internal Server Error</title></head>\r\n.*?</html>\r\n\npid \1\n\nupstream\n\npid \1\n\n\z}s
--- grep_error_log eval: qr/\[(?:error|alert|crit|emerg)\](?!.*upstream prematurely closed connection)|upstream prematurely closed connection|a fresh instance replaces the one that trapped|hostile: (?:\w+ ran|failing in \w+|enqueued [\w-]+|dequeued [\w-]+|ticks stopped)/
--- grep_error_log_out
hostile: on_request_headers ran
hostile: on_request_body ran
hostile: failing in on_request_body
[error]
a fresh instance replaces the one that trapped
hostile: on_request_headers ran
hostile: on_request_body ran
hostile: on_response_headers ran
hostile: on_response_body ran
hostile: on_done ran
hostile: on_log ran
--- error_log eval
qr/\[error\] .*wasm plugin "hostile": proxy_on_request_body failed: proxy_on_request_body trapped: wasm trap: wasm `unreachable` instruction executed[^,]*; failing the request \(proxy_wasm_failure closed\)/
--- no_error_log
[alert]
[crit]
[emerg]
exited on signal



=== TEST 8: request_body, panic, open: the upstream's answer, one [error] line, no later callback; the next request runs in a fresh instance
--- http_config
    wasm_plugin hostile ../../t/plugins/hostile.wasm time_limit=20ms memory_limit=16m;
--- config
    location = /t {
        proxy_wasm_failure open;
        proxy_wasm hostile '{"fail": "request_body", "how": "panic", "when": "header"}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/upstream;
    }
    location = /upstream {
        return 200 "upstream\n";
    }
    location = /pid {
        return 200 "pid $pid\n";
    }
    location /fail/ {
        proxy_method POST;
        proxy_set_body "payload";
        proxy_set_header X-Fail 1;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/;
    }
    location /pass/ {
        proxy_method POST;
        proxy_set_body "payload";
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
<!--# include virtual="/fail/t" wait="yes" -->
<!--# include virtual="/pid" wait="yes" -->
<!--# include virtual="/pass/t" wait="yes" -->
<!--# include virtual="/pid" wait="yes" -->
--- request
GET /seq
--- response_body_like eval
qr{\Apid (\d+)\n\nupstream\n\npid \1\n\nupstream\n\npid \1\n\n\z}s
--- grep_error_log eval: qr/\[(?:error|alert|crit|emerg)\](?!.*upstream prematurely closed connection)|upstream prematurely closed connection|a fresh instance replaces the one that trapped|hostile: (?:\w+ ran|failing in \w+|enqueued [\w-]+|dequeued [\w-]+|ticks stopped)/
--- grep_error_log_out
hostile: on_request_headers ran
hostile: on_request_body ran
hostile: failing in on_request_body
[error]
a fresh instance replaces the one that trapped
hostile: on_request_headers ran
hostile: on_request_body ran
hostile: on_response_headers ran
hostile: on_response_body ran
hostile: on_done ran
hostile: on_log ran
--- error_log eval
qr/\[error\] .*wasm plugin "hostile": proxy_on_request_body failed: proxy_on_request_body trapped: wasm trap: wasm `unreachable` instruction executed[^,]*; continuing without it \(proxy_wasm_failure open\)/
--- no_error_log
[alert]
[crit]
[emerg]
exited on signal



=== TEST 9: request_body, spin, closed: 500, one [error] line, no later callback; the next request runs in a fresh instance
--- http_config
    wasm_plugin hostile ../../t/plugins/hostile.wasm time_limit=20ms memory_limit=16m;
--- config
    location = /t {
        proxy_wasm_failure closed;
        proxy_wasm hostile '{"fail": "request_body", "how": "spin", "when": "header"}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/upstream;
    }
    location = /upstream {
        return 200 "upstream\n";
    }
    location = /pid {
        return 200 "pid $pid\n";
    }
    location /fail/ {
        proxy_method POST;
        proxy_set_body "payload";
        proxy_set_header X-Fail 1;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/;
    }
    location /pass/ {
        proxy_method POST;
        proxy_set_body "payload";
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
<!--# include virtual="/fail/t" wait="yes" -->
<!--# include virtual="/pid" wait="yes" -->
<!--# include virtual="/pass/t" wait="yes" -->
<!--# include virtual="/pid" wait="yes" -->
--- request
GET /seq
--- response_body_like eval
qr{\Apid (\d+)\n\n<html>\r\n<head><title>500 Internal Server Error</title></head>\r\n.*?</html>\r\n\npid \1\n\nupstream\n\npid \1\n\n\z}s
--- grep_error_log eval: qr/\[(?:error|alert|crit|emerg)\](?!.*upstream prematurely closed connection)|upstream prematurely closed connection|a fresh instance replaces the one that trapped|hostile: (?:\w+ ran|failing in \w+|enqueued [\w-]+|dequeued [\w-]+|ticks stopped)/
--- grep_error_log_out
hostile: on_request_headers ran
hostile: on_request_body ran
hostile: failing in on_request_body
[error]
a fresh instance replaces the one that trapped
hostile: on_request_headers ran
hostile: on_request_body ran
hostile: on_response_headers ran
hostile: on_response_body ran
hostile: on_done ran
hostile: on_log ran
--- error_log eval
qr/\[error\] .*wasm plugin "hostile": proxy_on_request_body failed: proxy_on_request_body trapped: interrupted: ran past its time limit of 20 ms[^,]*; failing the request \(proxy_wasm_failure closed\)/
--- no_error_log
[alert]
[crit]
[emerg]
exited on signal



=== TEST 10: request_body, spin, open: the upstream's answer, one [error] line, no later callback; the next request runs in a fresh instance
--- http_config
    wasm_plugin hostile ../../t/plugins/hostile.wasm time_limit=20ms memory_limit=16m;
--- config
    location = /t {
        proxy_wasm_failure open;
        proxy_wasm hostile '{"fail": "request_body", "how": "spin", "when": "header"}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/upstream;
    }
    location = /upstream {
        return 200 "upstream\n";
    }
    location = /pid {
        return 200 "pid $pid\n";
    }
    location /fail/ {
        proxy_method POST;
        proxy_set_body "payload";
        proxy_set_header X-Fail 1;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/;
    }
    location /pass/ {
        proxy_method POST;
        proxy_set_body "payload";
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
<!--# include virtual="/fail/t" wait="yes" -->
<!--# include virtual="/pid" wait="yes" -->
<!--# include virtual="/pass/t" wait="yes" -->
<!--# include virtual="/pid" wait="yes" -->
--- request
GET /seq
--- response_body_like eval
qr{\Apid (\d+)\n\nupstream\n\npid \1\n\nupstream\n\npid \1\n\n\z}s
--- grep_error_log eval: qr/\[(?:error|alert|crit|emerg)\](?!.*upstream prematurely closed connection)|upstream prematurely closed connection|a fresh instance replaces the one that trapped|hostile: (?:\w+ ran|failing in \w+|enqueued [\w-]+|dequeued [\w-]+|ticks stopped)/
--- grep_error_log_out
hostile: on_request_headers ran
hostile: on_request_body ran
hostile: failing in on_request_body
[error]
a fresh instance replaces the one that trapped
hostile: on_request_headers ran
hostile: on_request_body ran
hostile: on_response_headers ran
hostile: on_response_body ran
hostile: on_done ran
hostile: on_log ran
--- error_log eval
qr/\[error\] .*wasm plugin "hostile": proxy_on_request_body failed: proxy_on_request_body trapped: interrupted: ran past its time limit of 20 ms[^,]*; continuing without it \(proxy_wasm_failure open\)/
--- no_error_log
[alert]
[crit]
[emerg]
exited on signal



=== TEST 11: request_body, grow, closed: 500, one [error] line, no later callback; the next request runs in a fresh instance
--- http_config
    wasm_plugin hostile ../../t/plugins/hostile.wasm time_limit=20ms memory_limit=16m;
--- config
    location = /t {
        proxy_wasm_failure closed;
        proxy_wasm hostile '{"fail": "request_body", "how": "grow", "when": "header"}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/upstream;
    }
    location = /upstream {
        return 200 "upstream\n";
    }
    location = /pid {
        return 200 "pid $pid\n";
    }
    location /fail/ {
        proxy_method POST;
        proxy_set_body "payload";
        proxy_set_header X-Fail 1;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/;
    }
    location /pass/ {
        proxy_method POST;
        proxy_set_body "payload";
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
<!--# include virtual="/fail/t" wait="yes" -->
<!--# include virtual="/pid" wait="yes" -->
<!--# include virtual="/pass/t" wait="yes" -->
<!--# include virtual="/pid" wait="yes" -->
--- request
GET /seq
--- response_body_like eval
qr{\Apid (\d+)\n\n<html>\r\n<head><title>500 Internal Server Error</title></head>\r\n.*?</html>\r\n\npid \1\n\nupstream\n\npid \1\n\n\z}s
--- grep_error_log eval: qr/\[(?:error|alert|crit|emerg)\](?!.*upstream prematurely closed connection)|upstream prematurely closed connection|a fresh instance replaces the one that trapped|hostile: (?:\w+ ran|failing in \w+|enqueued [\w-]+|dequeued [\w-]+|ticks stopped)/
--- grep_error_log_out
hostile: on_request_headers ran
hostile: on_request_body ran
hostile: failing in on_request_body
[error]
a fresh instance replaces the one that trapped
hostile: on_request_headers ran
hostile: on_request_body ran
hostile: on_response_headers ran
hostile: on_response_body ran
hostile: on_done ran
hostile: on_log ran
--- error_log eval
qr/\[error\] .*wasm plugin "hostile": proxy_on_request_body failed: proxy_on_request_body trapped: .*memory[^,]*; failing the request \(proxy_wasm_failure closed\)/
--- no_error_log
[alert]
[crit]
[emerg]
exited on signal



=== TEST 12: request_body, grow, open: the upstream's answer, one [error] line, no later callback; the next request runs in a fresh instance
--- http_config
    wasm_plugin hostile ../../t/plugins/hostile.wasm time_limit=20ms memory_limit=16m;
--- config
    location = /t {
        proxy_wasm_failure open;
        proxy_wasm hostile '{"fail": "request_body", "how": "grow", "when": "header"}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/upstream;
    }
    location = /upstream {
        return 200 "upstream\n";
    }
    location = /pid {
        return 200 "pid $pid\n";
    }
    location /fail/ {
        proxy_method POST;
        proxy_set_body "payload";
        proxy_set_header X-Fail 1;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/;
    }
    location /pass/ {
        proxy_method POST;
        proxy_set_body "payload";
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
<!--# include virtual="/fail/t" wait="yes" -->
<!--# include virtual="/pid" wait="yes" -->
<!--# include virtual="/pass/t" wait="yes" -->
<!--# include virtual="/pid" wait="yes" -->
--- request
GET /seq
--- response_body_like eval
qr{\Apid (\d+)\n\nupstream\n\npid \1\n\nupstream\n\npid \1\n\n\z}s
--- grep_error_log eval: qr/\[(?:error|alert|crit|emerg)\](?!.*upstream prematurely closed connection)|upstream prematurely closed connection|a fresh instance replaces the one that trapped|hostile: (?:\w+ ran|failing in \w+|enqueued [\w-]+|dequeued [\w-]+|ticks stopped)/
--- grep_error_log_out
hostile: on_request_headers ran
hostile: on_request_body ran
hostile: failing in on_request_body
[error]
a fresh instance replaces the one that trapped
hostile: on_request_headers ran
hostile: on_request_body ran
hostile: on_response_headers ran
hostile: on_response_body ran
hostile: on_done ran
hostile: on_log ran
--- error_log eval
qr/\[error\] .*wasm plugin "hostile": proxy_on_request_body failed: proxy_on_request_body trapped: .*memory[^,]*; continuing without it \(proxy_wasm_failure open\)/
--- no_error_log
[alert]
[crit]
[emerg]
exited on signal



=== TEST 13: response_headers, panic, closed: 500, one [error] line, no later callback; the next request runs in a fresh instance
--- http_config
    wasm_plugin hostile ../../t/plugins/hostile.wasm time_limit=20ms memory_limit=16m;
--- config
    location = /t {
        proxy_wasm_failure closed;
        proxy_wasm hostile '{"fail": "response_headers", "how": "panic", "when": "header"}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/upstream;
    }
    location = /upstream {
        return 200 "upstream\n";
    }
    location = /pid {
        return 200 "pid $pid\n";
    }
    location /fail/ {
        proxy_method POST;
        proxy_set_body "payload";
        proxy_set_header X-Fail 1;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/;
    }
    location /pass/ {
        proxy_method POST;
        proxy_set_body "payload";
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
<!--# include virtual="/fail/t" wait="yes" -->
<!--# include virtual="/pid" wait="yes" -->
<!--# include virtual="/pass/t" wait="yes" -->
<!--# include virtual="/pid" wait="yes" -->
--- request
GET /seq
--- response_body_like eval
qr{\Apid (\d+)\n\n<html>\r\n<head><title>500 Internal Server Error</title></head>\r\n.*?</html>\r\n\npid \1\n\nupstream\n\npid \1\n\n\z}s
--- grep_error_log eval: qr/\[(?:error|alert|crit|emerg)\](?!.*upstream prematurely closed connection)|upstream prematurely closed connection|a fresh instance replaces the one that trapped|hostile: (?:\w+ ran|failing in \w+|enqueued [\w-]+|dequeued [\w-]+|ticks stopped)/
--- grep_error_log_out
hostile: on_request_headers ran
hostile: on_request_body ran
hostile: on_response_headers ran
hostile: failing in on_response_headers
[error]
a fresh instance replaces the one that trapped
hostile: on_request_headers ran
hostile: on_request_body ran
hostile: on_response_headers ran
hostile: on_response_body ran
hostile: on_done ran
hostile: on_log ran
--- error_log eval
qr/\[error\] .*wasm plugin "hostile": proxy_on_response_headers failed: proxy_on_response_headers trapped: wasm trap: wasm `unreachable` instruction executed[^,]*; failing the request \(proxy_wasm_failure closed\)/
--- no_error_log
[alert]
[crit]
[emerg]
exited on signal



=== TEST 14: response_headers, panic, open: the upstream's answer, one [error] line, no later callback; the next request runs in a fresh instance
--- http_config
    wasm_plugin hostile ../../t/plugins/hostile.wasm time_limit=20ms memory_limit=16m;
--- config
    location = /t {
        proxy_wasm_failure open;
        proxy_wasm hostile '{"fail": "response_headers", "how": "panic", "when": "header"}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/upstream;
    }
    location = /upstream {
        return 200 "upstream\n";
    }
    location = /pid {
        return 200 "pid $pid\n";
    }
    location /fail/ {
        proxy_method POST;
        proxy_set_body "payload";
        proxy_set_header X-Fail 1;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/;
    }
    location /pass/ {
        proxy_method POST;
        proxy_set_body "payload";
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
<!--# include virtual="/fail/t" wait="yes" -->
<!--# include virtual="/pid" wait="yes" -->
<!--# include virtual="/pass/t" wait="yes" -->
<!--# include virtual="/pid" wait="yes" -->
--- request
GET /seq
--- response_body_like eval
qr{\Apid (\d+)\n\nupstream\n\npid \1\n\nupstream\n\npid \1\n\n\z}s
--- grep_error_log eval: qr/\[(?:error|alert|crit|emerg)\](?!.*upstream prematurely closed connection)|upstream prematurely closed connection|a fresh instance replaces the one that trapped|hostile: (?:\w+ ran|failing in \w+|enqueued [\w-]+|dequeued [\w-]+|ticks stopped)/
--- grep_error_log_out
hostile: on_request_headers ran
hostile: on_request_body ran
hostile: on_response_headers ran
hostile: failing in on_response_headers
[error]
a fresh instance replaces the one that trapped
hostile: on_request_headers ran
hostile: on_request_body ran
hostile: on_response_headers ran
hostile: on_response_body ran
hostile: on_done ran
hostile: on_log ran
--- error_log eval
qr/\[error\] .*wasm plugin "hostile": proxy_on_response_headers failed: proxy_on_response_headers trapped: wasm trap: wasm `unreachable` instruction executed[^,]*; continuing without it \(proxy_wasm_failure open\)/
--- no_error_log
[alert]
[crit]
[emerg]
exited on signal



=== TEST 15: response_headers, spin, closed: 500, one [error] line, no later callback; the next request runs in a fresh instance
--- http_config
    wasm_plugin hostile ../../t/plugins/hostile.wasm time_limit=20ms memory_limit=16m;
--- config
    location = /t {
        proxy_wasm_failure closed;
        proxy_wasm hostile '{"fail": "response_headers", "how": "spin", "when": "header"}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/upstream;
    }
    location = /upstream {
        return 200 "upstream\n";
    }
    location = /pid {
        return 200 "pid $pid\n";
    }
    location /fail/ {
        proxy_method POST;
        proxy_set_body "payload";
        proxy_set_header X-Fail 1;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/;
    }
    location /pass/ {
        proxy_method POST;
        proxy_set_body "payload";
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
<!--# include virtual="/fail/t" wait="yes" -->
<!--# include virtual="/pid" wait="yes" -->
<!--# include virtual="/pass/t" wait="yes" -->
<!--# include virtual="/pid" wait="yes" -->
--- request
GET /seq
--- response_body_like eval
qr{\Apid (\d+)\n\n<html>\r\n<head><title>500 Internal Server Error</title></head>\r\n.*?</html>\r\n\npid \1\n\nupstream\n\npid \1\n\n\z}s
--- grep_error_log eval: qr/\[(?:error|alert|crit|emerg)\](?!.*upstream prematurely closed connection)|upstream prematurely closed connection|a fresh instance replaces the one that trapped|hostile: (?:\w+ ran|failing in \w+|enqueued [\w-]+|dequeued [\w-]+|ticks stopped)/
--- grep_error_log_out
hostile: on_request_headers ran
hostile: on_request_body ran
hostile: on_response_headers ran
hostile: failing in on_response_headers
[error]
a fresh instance replaces the one that trapped
hostile: on_request_headers ran
hostile: on_request_body ran
hostile: on_response_headers ran
hostile: on_response_body ran
hostile: on_done ran
hostile: on_log ran
--- error_log eval
qr/\[error\] .*wasm plugin "hostile": proxy_on_response_headers failed: proxy_on_response_headers trapped: interrupted: ran past its time limit of 20 ms[^,]*; failing the request \(proxy_wasm_failure closed\)/
--- no_error_log
[alert]
[crit]
[emerg]
exited on signal



=== TEST 16: response_headers, spin, open: the upstream's answer, one [error] line, no later callback; the next request runs in a fresh instance
--- http_config
    wasm_plugin hostile ../../t/plugins/hostile.wasm time_limit=20ms memory_limit=16m;
--- config
    location = /t {
        proxy_wasm_failure open;
        proxy_wasm hostile '{"fail": "response_headers", "how": "spin", "when": "header"}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/upstream;
    }
    location = /upstream {
        return 200 "upstream\n";
    }
    location = /pid {
        return 200 "pid $pid\n";
    }
    location /fail/ {
        proxy_method POST;
        proxy_set_body "payload";
        proxy_set_header X-Fail 1;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/;
    }
    location /pass/ {
        proxy_method POST;
        proxy_set_body "payload";
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
<!--# include virtual="/fail/t" wait="yes" -->
<!--# include virtual="/pid" wait="yes" -->
<!--# include virtual="/pass/t" wait="yes" -->
<!--# include virtual="/pid" wait="yes" -->
--- request
GET /seq
--- response_body_like eval
qr{\Apid (\d+)\n\nupstream\n\npid \1\n\nupstream\n\npid \1\n\n\z}s
--- grep_error_log eval: qr/\[(?:error|alert|crit|emerg)\](?!.*upstream prematurely closed connection)|upstream prematurely closed connection|a fresh instance replaces the one that trapped|hostile: (?:\w+ ran|failing in \w+|enqueued [\w-]+|dequeued [\w-]+|ticks stopped)/
--- grep_error_log_out
hostile: on_request_headers ran
hostile: on_request_body ran
hostile: on_response_headers ran
hostile: failing in on_response_headers
[error]
a fresh instance replaces the one that trapped
hostile: on_request_headers ran
hostile: on_request_body ran
hostile: on_response_headers ran
hostile: on_response_body ran
hostile: on_done ran
hostile: on_log ran
--- error_log eval
qr/\[error\] .*wasm plugin "hostile": proxy_on_response_headers failed: proxy_on_response_headers trapped: interrupted: ran past its time limit of 20 ms[^,]*; continuing without it \(proxy_wasm_failure open\)/
--- no_error_log
[alert]
[crit]
[emerg]
exited on signal



=== TEST 17: response_headers, grow, closed: 500, one [error] line, no later callback; the next request runs in a fresh instance
--- http_config
    wasm_plugin hostile ../../t/plugins/hostile.wasm time_limit=20ms memory_limit=16m;
--- config
    location = /t {
        proxy_wasm_failure closed;
        proxy_wasm hostile '{"fail": "response_headers", "how": "grow", "when": "header"}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/upstream;
    }
    location = /upstream {
        return 200 "upstream\n";
    }
    location = /pid {
        return 200 "pid $pid\n";
    }
    location /fail/ {
        proxy_method POST;
        proxy_set_body "payload";
        proxy_set_header X-Fail 1;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/;
    }
    location /pass/ {
        proxy_method POST;
        proxy_set_body "payload";
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
<!--# include virtual="/fail/t" wait="yes" -->
<!--# include virtual="/pid" wait="yes" -->
<!--# include virtual="/pass/t" wait="yes" -->
<!--# include virtual="/pid" wait="yes" -->
--- request
GET /seq
--- response_body_like eval
qr{\Apid (\d+)\n\n<html>\r\n<head><title>500 Internal Server Error</title></head>\r\n.*?</html>\r\n\npid \1\n\nupstream\n\npid \1\n\n\z}s
--- grep_error_log eval: qr/\[(?:error|alert|crit|emerg)\](?!.*upstream prematurely closed connection)|upstream prematurely closed connection|a fresh instance replaces the one that trapped|hostile: (?:\w+ ran|failing in \w+|enqueued [\w-]+|dequeued [\w-]+|ticks stopped)/
--- grep_error_log_out
hostile: on_request_headers ran
hostile: on_request_body ran
hostile: on_response_headers ran
hostile: failing in on_response_headers
[error]
a fresh instance replaces the one that trapped
hostile: on_request_headers ran
hostile: on_request_body ran
hostile: on_response_headers ran
hostile: on_response_body ran
hostile: on_done ran
hostile: on_log ran
--- error_log eval
qr/\[error\] .*wasm plugin "hostile": proxy_on_response_headers failed: proxy_on_response_headers trapped: .*memory[^,]*; failing the request \(proxy_wasm_failure closed\)/
--- no_error_log
[alert]
[crit]
[emerg]
exited on signal



=== TEST 18: response_headers, grow, open: the upstream's answer, one [error] line, no later callback; the next request runs in a fresh instance
--- http_config
    wasm_plugin hostile ../../t/plugins/hostile.wasm time_limit=20ms memory_limit=16m;
--- config
    location = /t {
        proxy_wasm_failure open;
        proxy_wasm hostile '{"fail": "response_headers", "how": "grow", "when": "header"}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/upstream;
    }
    location = /upstream {
        return 200 "upstream\n";
    }
    location = /pid {
        return 200 "pid $pid\n";
    }
    location /fail/ {
        proxy_method POST;
        proxy_set_body "payload";
        proxy_set_header X-Fail 1;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/;
    }
    location /pass/ {
        proxy_method POST;
        proxy_set_body "payload";
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
<!--# include virtual="/fail/t" wait="yes" -->
<!--# include virtual="/pid" wait="yes" -->
<!--# include virtual="/pass/t" wait="yes" -->
<!--# include virtual="/pid" wait="yes" -->
--- request
GET /seq
--- response_body_like eval
qr{\Apid (\d+)\n\nupstream\n\npid \1\n\nupstream\n\npid \1\n\n\z}s
--- grep_error_log eval: qr/\[(?:error|alert|crit|emerg)\](?!.*upstream prematurely closed connection)|upstream prematurely closed connection|a fresh instance replaces the one that trapped|hostile: (?:\w+ ran|failing in \w+|enqueued [\w-]+|dequeued [\w-]+|ticks stopped)/
--- grep_error_log_out
hostile: on_request_headers ran
hostile: on_request_body ran
hostile: on_response_headers ran
hostile: failing in on_response_headers
[error]
a fresh instance replaces the one that trapped
hostile: on_request_headers ran
hostile: on_request_body ran
hostile: on_response_headers ran
hostile: on_response_body ran
hostile: on_done ran
hostile: on_log ran
--- error_log eval
qr/\[error\] .*wasm plugin "hostile": proxy_on_response_headers failed: proxy_on_response_headers trapped: .*memory[^,]*; continuing without it \(proxy_wasm_failure open\)/
--- no_error_log
[alert]
[crit]
[emerg]
exited on signal



=== TEST 19: response_body, panic, closed: the response aborted, one [error] line, no later callback; the next request runs in a fresh instance
--- http_config
    wasm_plugin hostile ../../t/plugins/hostile.wasm time_limit=20ms memory_limit=16m;
--- config
    location = /t {
        proxy_wasm_failure closed;
        proxy_wasm hostile '{"fail": "response_body", "how": "panic", "when": "header", "body": "first"}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/upstream;
    }
    location = /upstream {
        return 200 "upstream\n";
    }
    location = /pid {
        return 200 "pid $pid\n";
    }
    location /fail/ {
        proxy_method POST;
        proxy_set_body "payload";
        proxy_set_header X-Fail 1;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/;
    }
    location /pass/ {
        proxy_method POST;
        proxy_set_body "payload";
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
<!--# include virtual="/fail/t" wait="yes" -->
<!--# include virtual="/pid" wait="yes" -->
<!--# include virtual="/pass/t" wait="yes" -->
<!--# include virtual="/pid" wait="yes" -->
--- request
GET /seq
--- response_body_like eval
qr{\Apid (\d+)\n\n<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n.*?</html>\r\n\npid \1\n\nupstream\n\npid \1\n\n\z}s
--- grep_error_log eval: qr/\[(?:error|alert|crit|emerg)\](?!.*upstream prematurely closed connection)|upstream prematurely closed connection|a fresh instance replaces the one that trapped|hostile: (?:\w+ ran|failing in \w+|enqueued [\w-]+|dequeued [\w-]+|ticks stopped)/
--- grep_error_log_out
hostile: on_request_headers ran
hostile: on_request_body ran
hostile: on_response_headers ran
hostile: on_response_body ran
hostile: failing in on_response_body
[error]
upstream prematurely closed connection
a fresh instance replaces the one that trapped
hostile: on_request_headers ran
hostile: on_request_body ran
hostile: on_response_headers ran
hostile: on_response_body ran
hostile: on_done ran
hostile: on_log ran
--- error_log eval
qr/\[error\] .*wasm plugin "hostile": proxy_on_response_body failed: proxy_on_response_body trapped: wasm trap: wasm `unreachable` instruction executed[^,]*; failing the request \(proxy_wasm_failure closed\)/
--- no_error_log
[alert]
[crit]
[emerg]
exited on signal



=== TEST 20: response_body, panic, open: the upstream's answer, one [error] line, no later callback; the next request runs in a fresh instance
--- http_config
    wasm_plugin hostile ../../t/plugins/hostile.wasm time_limit=20ms memory_limit=16m;
--- config
    location = /t {
        proxy_wasm_failure open;
        proxy_wasm hostile '{"fail": "response_body", "how": "panic", "when": "header", "body": "first"}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/upstream;
    }
    location = /upstream {
        return 200 "upstream\n";
    }
    location = /pid {
        return 200 "pid $pid\n";
    }
    location /fail/ {
        proxy_method POST;
        proxy_set_body "payload";
        proxy_set_header X-Fail 1;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/;
    }
    location /pass/ {
        proxy_method POST;
        proxy_set_body "payload";
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
<!--# include virtual="/fail/t" wait="yes" -->
<!--# include virtual="/pid" wait="yes" -->
<!--# include virtual="/pass/t" wait="yes" -->
<!--# include virtual="/pid" wait="yes" -->
--- request
GET /seq
--- response_body_like eval
qr{\Apid (\d+)\n\nupstream\n\npid \1\n\nupstream\n\npid \1\n\n\z}s
--- grep_error_log eval: qr/\[(?:error|alert|crit|emerg)\](?!.*upstream prematurely closed connection)|upstream prematurely closed connection|a fresh instance replaces the one that trapped|hostile: (?:\w+ ran|failing in \w+|enqueued [\w-]+|dequeued [\w-]+|ticks stopped)/
--- grep_error_log_out
hostile: on_request_headers ran
hostile: on_request_body ran
hostile: on_response_headers ran
hostile: on_response_body ran
hostile: failing in on_response_body
[error]
a fresh instance replaces the one that trapped
hostile: on_request_headers ran
hostile: on_request_body ran
hostile: on_response_headers ran
hostile: on_response_body ran
hostile: on_done ran
hostile: on_log ran
--- error_log eval
qr/\[error\] .*wasm plugin "hostile": proxy_on_response_body failed: proxy_on_response_body trapped: wasm trap: wasm `unreachable` instruction executed[^,]*; continuing without it \(proxy_wasm_failure open\)/
--- no_error_log
[alert]
[crit]
[emerg]
exited on signal



=== TEST 21: response_body, spin, closed: the response aborted, one [error] line, no later callback; the next request runs in a fresh instance
--- http_config
    wasm_plugin hostile ../../t/plugins/hostile.wasm time_limit=20ms memory_limit=16m;
--- config
    location = /t {
        proxy_wasm_failure closed;
        proxy_wasm hostile '{"fail": "response_body", "how": "spin", "when": "header", "body": "first"}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/upstream;
    }
    location = /upstream {
        return 200 "upstream\n";
    }
    location = /pid {
        return 200 "pid $pid\n";
    }
    location /fail/ {
        proxy_method POST;
        proxy_set_body "payload";
        proxy_set_header X-Fail 1;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/;
    }
    location /pass/ {
        proxy_method POST;
        proxy_set_body "payload";
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
<!--# include virtual="/fail/t" wait="yes" -->
<!--# include virtual="/pid" wait="yes" -->
<!--# include virtual="/pass/t" wait="yes" -->
<!--# include virtual="/pid" wait="yes" -->
--- request
GET /seq
--- response_body_like eval
qr{\Apid (\d+)\n\n<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n.*?</html>\r\n\npid \1\n\nupstream\n\npid \1\n\n\z}s
--- grep_error_log eval: qr/\[(?:error|alert|crit|emerg)\](?!.*upstream prematurely closed connection)|upstream prematurely closed connection|a fresh instance replaces the one that trapped|hostile: (?:\w+ ran|failing in \w+|enqueued [\w-]+|dequeued [\w-]+|ticks stopped)/
--- grep_error_log_out
hostile: on_request_headers ran
hostile: on_request_body ran
hostile: on_response_headers ran
hostile: on_response_body ran
hostile: failing in on_response_body
[error]
upstream prematurely closed connection
a fresh instance replaces the one that trapped
hostile: on_request_headers ran
hostile: on_request_body ran
hostile: on_response_headers ran
hostile: on_response_body ran
hostile: on_done ran
hostile: on_log ran
--- error_log eval
qr/\[error\] .*wasm plugin "hostile": proxy_on_response_body failed: proxy_on_response_body trapped: interrupted: ran past its time limit of 20 ms[^,]*; failing the request \(proxy_wasm_failure closed\)/
--- no_error_log
[alert]
[crit]
[emerg]
exited on signal



=== TEST 22: response_body, spin, open: the upstream's answer, one [error] line, no later callback; the next request runs in a fresh instance
--- http_config
    wasm_plugin hostile ../../t/plugins/hostile.wasm time_limit=20ms memory_limit=16m;
--- config
    location = /t {
        proxy_wasm_failure open;
        proxy_wasm hostile '{"fail": "response_body", "how": "spin", "when": "header", "body": "first"}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/upstream;
    }
    location = /upstream {
        return 200 "upstream\n";
    }
    location = /pid {
        return 200 "pid $pid\n";
    }
    location /fail/ {
        proxy_method POST;
        proxy_set_body "payload";
        proxy_set_header X-Fail 1;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/;
    }
    location /pass/ {
        proxy_method POST;
        proxy_set_body "payload";
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
<!--# include virtual="/fail/t" wait="yes" -->
<!--# include virtual="/pid" wait="yes" -->
<!--# include virtual="/pass/t" wait="yes" -->
<!--# include virtual="/pid" wait="yes" -->
--- request
GET /seq
--- response_body_like eval
qr{\Apid (\d+)\n\nupstream\n\npid \1\n\nupstream\n\npid \1\n\n\z}s
--- grep_error_log eval: qr/\[(?:error|alert|crit|emerg)\](?!.*upstream prematurely closed connection)|upstream prematurely closed connection|a fresh instance replaces the one that trapped|hostile: (?:\w+ ran|failing in \w+|enqueued [\w-]+|dequeued [\w-]+|ticks stopped)/
--- grep_error_log_out
hostile: on_request_headers ran
hostile: on_request_body ran
hostile: on_response_headers ran
hostile: on_response_body ran
hostile: failing in on_response_body
[error]
a fresh instance replaces the one that trapped
hostile: on_request_headers ran
hostile: on_request_body ran
hostile: on_response_headers ran
hostile: on_response_body ran
hostile: on_done ran
hostile: on_log ran
--- error_log eval
qr/\[error\] .*wasm plugin "hostile": proxy_on_response_body failed: proxy_on_response_body trapped: interrupted: ran past its time limit of 20 ms[^,]*; continuing without it \(proxy_wasm_failure open\)/
--- no_error_log
[alert]
[crit]
[emerg]
exited on signal



=== TEST 23: response_body, grow, closed: the response aborted, one [error] line, no later callback; the next request runs in a fresh instance
--- http_config
    wasm_plugin hostile ../../t/plugins/hostile.wasm time_limit=20ms memory_limit=16m;
--- config
    location = /t {
        proxy_wasm_failure closed;
        proxy_wasm hostile '{"fail": "response_body", "how": "grow", "when": "header", "body": "first"}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/upstream;
    }
    location = /upstream {
        return 200 "upstream\n";
    }
    location = /pid {
        return 200 "pid $pid\n";
    }
    location /fail/ {
        proxy_method POST;
        proxy_set_body "payload";
        proxy_set_header X-Fail 1;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/;
    }
    location /pass/ {
        proxy_method POST;
        proxy_set_body "payload";
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
<!--# include virtual="/fail/t" wait="yes" -->
<!--# include virtual="/pid" wait="yes" -->
<!--# include virtual="/pass/t" wait="yes" -->
<!--# include virtual="/pid" wait="yes" -->
--- request
GET /seq
--- response_body_like eval
qr{\Apid (\d+)\n\n<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n.*?</html>\r\n\npid \1\n\nupstream\n\npid \1\n\n\z}s
--- grep_error_log eval: qr/\[(?:error|alert|crit|emerg)\](?!.*upstream prematurely closed connection)|upstream prematurely closed connection|a fresh instance replaces the one that trapped|hostile: (?:\w+ ran|failing in \w+|enqueued [\w-]+|dequeued [\w-]+|ticks stopped)/
--- grep_error_log_out
hostile: on_request_headers ran
hostile: on_request_body ran
hostile: on_response_headers ran
hostile: on_response_body ran
hostile: failing in on_response_body
[error]
upstream prematurely closed connection
a fresh instance replaces the one that trapped
hostile: on_request_headers ran
hostile: on_request_body ran
hostile: on_response_headers ran
hostile: on_response_body ran
hostile: on_done ran
hostile: on_log ran
--- error_log eval
qr/\[error\] .*wasm plugin "hostile": proxy_on_response_body failed: proxy_on_response_body trapped: .*memory[^,]*; failing the request \(proxy_wasm_failure closed\)/
--- no_error_log
[alert]
[crit]
[emerg]
exited on signal



=== TEST 24: response_body, grow, open: the upstream's answer, one [error] line, no later callback; the next request runs in a fresh instance
--- http_config
    wasm_plugin hostile ../../t/plugins/hostile.wasm time_limit=20ms memory_limit=16m;
--- config
    location = /t {
        proxy_wasm_failure open;
        proxy_wasm hostile '{"fail": "response_body", "how": "grow", "when": "header", "body": "first"}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/upstream;
    }
    location = /upstream {
        return 200 "upstream\n";
    }
    location = /pid {
        return 200 "pid $pid\n";
    }
    location /fail/ {
        proxy_method POST;
        proxy_set_body "payload";
        proxy_set_header X-Fail 1;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/;
    }
    location /pass/ {
        proxy_method POST;
        proxy_set_body "payload";
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
<!--# include virtual="/fail/t" wait="yes" -->
<!--# include virtual="/pid" wait="yes" -->
<!--# include virtual="/pass/t" wait="yes" -->
<!--# include virtual="/pid" wait="yes" -->
--- request
GET /seq
--- response_body_like eval
qr{\Apid (\d+)\n\nupstream\n\npid \1\n\nupstream\n\npid \1\n\n\z}s
--- grep_error_log eval: qr/\[(?:error|alert|crit|emerg)\](?!.*upstream prematurely closed connection)|upstream prematurely closed connection|a fresh instance replaces the one that trapped|hostile: (?:\w+ ran|failing in \w+|enqueued [\w-]+|dequeued [\w-]+|ticks stopped)/
--- grep_error_log_out
hostile: on_request_headers ran
hostile: on_request_body ran
hostile: on_response_headers ran
hostile: on_response_body ran
hostile: failing in on_response_body
[error]
a fresh instance replaces the one that trapped
hostile: on_request_headers ran
hostile: on_request_body ran
hostile: on_response_headers ran
hostile: on_response_body ran
hostile: on_done ran
hostile: on_log ran
--- error_log eval
qr/\[error\] .*wasm plugin "hostile": proxy_on_response_body failed: proxy_on_response_body trapped: .*memory[^,]*; continuing without it \(proxy_wasm_failure open\)/
--- no_error_log
[alert]
[crit]
[emerg]
exited on signal



=== TEST 25: log, panic, closed: the answer already sent is unaffected, one [error] line, no later callback; the next request runs in a fresh instance
--- http_config
    wasm_plugin hostile ../../t/plugins/hostile.wasm time_limit=20ms memory_limit=16m;
--- config
    location = /t {
        proxy_wasm_failure closed;
        proxy_wasm hostile '{"fail": "log", "how": "panic", "when": "header"}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/upstream;
    }
    location = /upstream {
        return 200 "upstream\n";
    }
    location = /pid {
        return 200 "pid $pid\n";
    }
    location /fail/ {
        proxy_method POST;
        proxy_set_body "payload";
        proxy_set_header X-Fail 1;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/;
    }
    location /pass/ {
        proxy_method POST;
        proxy_set_body "payload";
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
<!--# include virtual="/fail/t" wait="yes" -->
<!--# include virtual="/pid" wait="yes" -->
<!--# include virtual="/pass/t" wait="yes" -->
<!--# include virtual="/pid" wait="yes" -->
--- request
GET /seq
--- response_body_like eval
qr{\Apid (\d+)\n\nupstream\n\npid \1\n\nupstream\n\npid \1\n\n\z}s
--- grep_error_log eval: qr/\[(?:error|alert|crit|emerg)\](?!.*upstream prematurely closed connection)|upstream prematurely closed connection|a fresh instance replaces the one that trapped|hostile: (?:\w+ ran|failing in \w+|enqueued [\w-]+|dequeued [\w-]+|ticks stopped)/
--- grep_error_log_out
hostile: on_request_headers ran
hostile: on_request_body ran
hostile: on_response_headers ran
hostile: on_response_body ran
hostile: on_done ran
hostile: on_log ran
hostile: failing in on_log
[error]
a fresh instance replaces the one that trapped
hostile: on_request_headers ran
hostile: on_request_body ran
hostile: on_response_headers ran
hostile: on_response_body ran
hostile: on_done ran
hostile: on_log ran
--- error_log eval
qr/\[error\] .*wasm plugin "hostile": [^,]*\bfailed: proxy_on_log trapped: wasm trap: wasm `unreachable` instruction executed/
--- no_error_log
[alert]
[crit]
[emerg]
exited on signal



=== TEST 26: log, panic, open: the upstream's answer, one [error] line, no later callback; the next request runs in a fresh instance
--- http_config
    wasm_plugin hostile ../../t/plugins/hostile.wasm time_limit=20ms memory_limit=16m;
--- config
    location = /t {
        proxy_wasm_failure open;
        proxy_wasm hostile '{"fail": "log", "how": "panic", "when": "header"}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/upstream;
    }
    location = /upstream {
        return 200 "upstream\n";
    }
    location = /pid {
        return 200 "pid $pid\n";
    }
    location /fail/ {
        proxy_method POST;
        proxy_set_body "payload";
        proxy_set_header X-Fail 1;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/;
    }
    location /pass/ {
        proxy_method POST;
        proxy_set_body "payload";
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
<!--# include virtual="/fail/t" wait="yes" -->
<!--# include virtual="/pid" wait="yes" -->
<!--# include virtual="/pass/t" wait="yes" -->
<!--# include virtual="/pid" wait="yes" -->
--- request
GET /seq
--- response_body_like eval
qr{\Apid (\d+)\n\nupstream\n\npid \1\n\nupstream\n\npid \1\n\n\z}s
--- grep_error_log eval: qr/\[(?:error|alert|crit|emerg)\](?!.*upstream prematurely closed connection)|upstream prematurely closed connection|a fresh instance replaces the one that trapped|hostile: (?:\w+ ran|failing in \w+|enqueued [\w-]+|dequeued [\w-]+|ticks stopped)/
--- grep_error_log_out
hostile: on_request_headers ran
hostile: on_request_body ran
hostile: on_response_headers ran
hostile: on_response_body ran
hostile: on_done ran
hostile: on_log ran
hostile: failing in on_log
[error]
a fresh instance replaces the one that trapped
hostile: on_request_headers ran
hostile: on_request_body ran
hostile: on_response_headers ran
hostile: on_response_body ran
hostile: on_done ran
hostile: on_log ran
--- error_log eval
qr/\[error\] .*wasm plugin "hostile": [^,]*\bfailed: proxy_on_log trapped: wasm trap: wasm `unreachable` instruction executed/
--- no_error_log
[alert]
[crit]
[emerg]
exited on signal



=== TEST 27: log, spin, closed: the answer already sent is unaffected, one [error] line, no later callback; the next request runs in a fresh instance
--- http_config
    wasm_plugin hostile ../../t/plugins/hostile.wasm time_limit=20ms memory_limit=16m;
--- config
    location = /t {
        proxy_wasm_failure closed;
        proxy_wasm hostile '{"fail": "log", "how": "spin", "when": "header"}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/upstream;
    }
    location = /upstream {
        return 200 "upstream\n";
    }
    location = /pid {
        return 200 "pid $pid\n";
    }
    location /fail/ {
        proxy_method POST;
        proxy_set_body "payload";
        proxy_set_header X-Fail 1;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/;
    }
    location /pass/ {
        proxy_method POST;
        proxy_set_body "payload";
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
<!--# include virtual="/fail/t" wait="yes" -->
<!--# include virtual="/pid" wait="yes" -->
<!--# include virtual="/pass/t" wait="yes" -->
<!--# include virtual="/pid" wait="yes" -->
--- request
GET /seq
--- response_body_like eval
qr{\Apid (\d+)\n\nupstream\n\npid \1\n\nupstream\n\npid \1\n\n\z}s
--- grep_error_log eval: qr/\[(?:error|alert|crit|emerg)\](?!.*upstream prematurely closed connection)|upstream prematurely closed connection|a fresh instance replaces the one that trapped|hostile: (?:\w+ ran|failing in \w+|enqueued [\w-]+|dequeued [\w-]+|ticks stopped)/
--- grep_error_log_out
hostile: on_request_headers ran
hostile: on_request_body ran
hostile: on_response_headers ran
hostile: on_response_body ran
hostile: on_done ran
hostile: on_log ran
hostile: failing in on_log
[error]
a fresh instance replaces the one that trapped
hostile: on_request_headers ran
hostile: on_request_body ran
hostile: on_response_headers ran
hostile: on_response_body ran
hostile: on_done ran
hostile: on_log ran
--- error_log eval
qr/\[error\] .*wasm plugin "hostile": [^,]*\bfailed: proxy_on_log trapped: interrupted: ran past its time limit of 20 ms/
--- no_error_log
[alert]
[crit]
[emerg]
exited on signal



=== TEST 28: log, spin, open: the upstream's answer, one [error] line, no later callback; the next request runs in a fresh instance
--- http_config
    wasm_plugin hostile ../../t/plugins/hostile.wasm time_limit=20ms memory_limit=16m;
--- config
    location = /t {
        proxy_wasm_failure open;
        proxy_wasm hostile '{"fail": "log", "how": "spin", "when": "header"}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/upstream;
    }
    location = /upstream {
        return 200 "upstream\n";
    }
    location = /pid {
        return 200 "pid $pid\n";
    }
    location /fail/ {
        proxy_method POST;
        proxy_set_body "payload";
        proxy_set_header X-Fail 1;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/;
    }
    location /pass/ {
        proxy_method POST;
        proxy_set_body "payload";
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
<!--# include virtual="/fail/t" wait="yes" -->
<!--# include virtual="/pid" wait="yes" -->
<!--# include virtual="/pass/t" wait="yes" -->
<!--# include virtual="/pid" wait="yes" -->
--- request
GET /seq
--- response_body_like eval
qr{\Apid (\d+)\n\nupstream\n\npid \1\n\nupstream\n\npid \1\n\n\z}s
--- grep_error_log eval: qr/\[(?:error|alert|crit|emerg)\](?!.*upstream prematurely closed connection)|upstream prematurely closed connection|a fresh instance replaces the one that trapped|hostile: (?:\w+ ran|failing in \w+|enqueued [\w-]+|dequeued [\w-]+|ticks stopped)/
--- grep_error_log_out
hostile: on_request_headers ran
hostile: on_request_body ran
hostile: on_response_headers ran
hostile: on_response_body ran
hostile: on_done ran
hostile: on_log ran
hostile: failing in on_log
[error]
a fresh instance replaces the one that trapped
hostile: on_request_headers ran
hostile: on_request_body ran
hostile: on_response_headers ran
hostile: on_response_body ran
hostile: on_done ran
hostile: on_log ran
--- error_log eval
qr/\[error\] .*wasm plugin "hostile": [^,]*\bfailed: proxy_on_log trapped: interrupted: ran past its time limit of 20 ms/
--- no_error_log
[alert]
[crit]
[emerg]
exited on signal



=== TEST 29: log, grow, closed: the answer already sent is unaffected, one [error] line, no later callback; the next request runs in a fresh instance
--- http_config
    wasm_plugin hostile ../../t/plugins/hostile.wasm time_limit=20ms memory_limit=16m;
--- config
    location = /t {
        proxy_wasm_failure closed;
        proxy_wasm hostile '{"fail": "log", "how": "grow", "when": "header"}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/upstream;
    }
    location = /upstream {
        return 200 "upstream\n";
    }
    location = /pid {
        return 200 "pid $pid\n";
    }
    location /fail/ {
        proxy_method POST;
        proxy_set_body "payload";
        proxy_set_header X-Fail 1;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/;
    }
    location /pass/ {
        proxy_method POST;
        proxy_set_body "payload";
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
<!--# include virtual="/fail/t" wait="yes" -->
<!--# include virtual="/pid" wait="yes" -->
<!--# include virtual="/pass/t" wait="yes" -->
<!--# include virtual="/pid" wait="yes" -->
--- request
GET /seq
--- response_body_like eval
qr{\Apid (\d+)\n\nupstream\n\npid \1\n\nupstream\n\npid \1\n\n\z}s
--- grep_error_log eval: qr/\[(?:error|alert|crit|emerg)\](?!.*upstream prematurely closed connection)|upstream prematurely closed connection|a fresh instance replaces the one that trapped|hostile: (?:\w+ ran|failing in \w+|enqueued [\w-]+|dequeued [\w-]+|ticks stopped)/
--- grep_error_log_out
hostile: on_request_headers ran
hostile: on_request_body ran
hostile: on_response_headers ran
hostile: on_response_body ran
hostile: on_done ran
hostile: on_log ran
hostile: failing in on_log
[error]
a fresh instance replaces the one that trapped
hostile: on_request_headers ran
hostile: on_request_body ran
hostile: on_response_headers ran
hostile: on_response_body ran
hostile: on_done ran
hostile: on_log ran
--- error_log eval
qr/\[error\] .*wasm plugin "hostile": [^,]*\bfailed: proxy_on_log trapped: .*memory/
--- no_error_log
[alert]
[crit]
[emerg]
exited on signal



=== TEST 30: log, grow, open: the upstream's answer, one [error] line, no later callback; the next request runs in a fresh instance
--- http_config
    wasm_plugin hostile ../../t/plugins/hostile.wasm time_limit=20ms memory_limit=16m;
--- config
    location = /t {
        proxy_wasm_failure open;
        proxy_wasm hostile '{"fail": "log", "how": "grow", "when": "header"}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/upstream;
    }
    location = /upstream {
        return 200 "upstream\n";
    }
    location = /pid {
        return 200 "pid $pid\n";
    }
    location /fail/ {
        proxy_method POST;
        proxy_set_body "payload";
        proxy_set_header X-Fail 1;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/;
    }
    location /pass/ {
        proxy_method POST;
        proxy_set_body "payload";
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
<!--# include virtual="/fail/t" wait="yes" -->
<!--# include virtual="/pid" wait="yes" -->
<!--# include virtual="/pass/t" wait="yes" -->
<!--# include virtual="/pid" wait="yes" -->
--- request
GET /seq
--- response_body_like eval
qr{\Apid (\d+)\n\nupstream\n\npid \1\n\nupstream\n\npid \1\n\n\z}s
--- grep_error_log eval: qr/\[(?:error|alert|crit|emerg)\](?!.*upstream prematurely closed connection)|upstream prematurely closed connection|a fresh instance replaces the one that trapped|hostile: (?:\w+ ran|failing in \w+|enqueued [\w-]+|dequeued [\w-]+|ticks stopped)/
--- grep_error_log_out
hostile: on_request_headers ran
hostile: on_request_body ran
hostile: on_response_headers ran
hostile: on_response_body ran
hostile: on_done ran
hostile: on_log ran
hostile: failing in on_log
[error]
a fresh instance replaces the one that trapped
hostile: on_request_headers ran
hostile: on_request_body ran
hostile: on_response_headers ran
hostile: on_response_body ran
hostile: on_done ran
hostile: on_log ran
--- error_log eval
qr/\[error\] .*wasm plugin "hostile": [^,]*\bfailed: proxy_on_log trapped: .*memory/
--- no_error_log
[alert]
[crit]
[emerg]
exited on signal



=== TEST 31: done, panic, closed: the answer already sent is unaffected, one [error] line, no later callback; the next request runs in a fresh instance
--- http_config
    wasm_plugin hostile ../../t/plugins/hostile.wasm time_limit=20ms memory_limit=16m;
--- config
    location = /t {
        proxy_wasm_failure closed;
        proxy_wasm hostile '{"fail": "done", "how": "panic", "when": "header"}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/upstream;
    }
    location = /upstream {
        return 200 "upstream\n";
    }
    location = /pid {
        return 200 "pid $pid\n";
    }
    location /fail/ {
        proxy_method POST;
        proxy_set_body "payload";
        proxy_set_header X-Fail 1;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/;
    }
    location /pass/ {
        proxy_method POST;
        proxy_set_body "payload";
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
<!--# include virtual="/fail/t" wait="yes" -->
<!--# include virtual="/pid" wait="yes" -->
<!--# include virtual="/pass/t" wait="yes" -->
<!--# include virtual="/pid" wait="yes" -->
--- request
GET /seq
--- response_body_like eval
qr{\Apid (\d+)\n\nupstream\n\npid \1\n\nupstream\n\npid \1\n\n\z}s
--- grep_error_log eval: qr/\[(?:error|alert|crit|emerg)\](?!.*upstream prematurely closed connection)|upstream prematurely closed connection|a fresh instance replaces the one that trapped|hostile: (?:\w+ ran|failing in \w+|enqueued [\w-]+|dequeued [\w-]+|ticks stopped)/
--- grep_error_log_out
hostile: on_request_headers ran
hostile: on_request_body ran
hostile: on_response_headers ran
hostile: on_response_body ran
hostile: on_done ran
hostile: failing in on_done
[error]
a fresh instance replaces the one that trapped
hostile: on_request_headers ran
hostile: on_request_body ran
hostile: on_response_headers ran
hostile: on_response_body ran
hostile: on_done ran
hostile: on_log ran
--- error_log eval
qr/\[error\] .*wasm plugin "hostile": [^,]*\bfailed: proxy_on_done trapped: wasm trap: wasm `unreachable` instruction executed/
--- no_error_log
[alert]
[crit]
[emerg]
exited on signal



=== TEST 32: done, panic, open: the upstream's answer, one [error] line, no later callback; the next request runs in a fresh instance
--- http_config
    wasm_plugin hostile ../../t/plugins/hostile.wasm time_limit=20ms memory_limit=16m;
--- config
    location = /t {
        proxy_wasm_failure open;
        proxy_wasm hostile '{"fail": "done", "how": "panic", "when": "header"}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/upstream;
    }
    location = /upstream {
        return 200 "upstream\n";
    }
    location = /pid {
        return 200 "pid $pid\n";
    }
    location /fail/ {
        proxy_method POST;
        proxy_set_body "payload";
        proxy_set_header X-Fail 1;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/;
    }
    location /pass/ {
        proxy_method POST;
        proxy_set_body "payload";
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
<!--# include virtual="/fail/t" wait="yes" -->
<!--# include virtual="/pid" wait="yes" -->
<!--# include virtual="/pass/t" wait="yes" -->
<!--# include virtual="/pid" wait="yes" -->
--- request
GET /seq
--- response_body_like eval
qr{\Apid (\d+)\n\nupstream\n\npid \1\n\nupstream\n\npid \1\n\n\z}s
--- grep_error_log eval: qr/\[(?:error|alert|crit|emerg)\](?!.*upstream prematurely closed connection)|upstream prematurely closed connection|a fresh instance replaces the one that trapped|hostile: (?:\w+ ran|failing in \w+|enqueued [\w-]+|dequeued [\w-]+|ticks stopped)/
--- grep_error_log_out
hostile: on_request_headers ran
hostile: on_request_body ran
hostile: on_response_headers ran
hostile: on_response_body ran
hostile: on_done ran
hostile: failing in on_done
[error]
a fresh instance replaces the one that trapped
hostile: on_request_headers ran
hostile: on_request_body ran
hostile: on_response_headers ran
hostile: on_response_body ran
hostile: on_done ran
hostile: on_log ran
--- error_log eval
qr/\[error\] .*wasm plugin "hostile": [^,]*\bfailed: proxy_on_done trapped: wasm trap: wasm `unreachable` instruction executed/
--- no_error_log
[alert]
[crit]
[emerg]
exited on signal



=== TEST 33: done, spin, closed: the answer already sent is unaffected, one [error] line, no later callback; the next request runs in a fresh instance
--- http_config
    wasm_plugin hostile ../../t/plugins/hostile.wasm time_limit=20ms memory_limit=16m;
--- config
    location = /t {
        proxy_wasm_failure closed;
        proxy_wasm hostile '{"fail": "done", "how": "spin", "when": "header"}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/upstream;
    }
    location = /upstream {
        return 200 "upstream\n";
    }
    location = /pid {
        return 200 "pid $pid\n";
    }
    location /fail/ {
        proxy_method POST;
        proxy_set_body "payload";
        proxy_set_header X-Fail 1;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/;
    }
    location /pass/ {
        proxy_method POST;
        proxy_set_body "payload";
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
<!--# include virtual="/fail/t" wait="yes" -->
<!--# include virtual="/pid" wait="yes" -->
<!--# include virtual="/pass/t" wait="yes" -->
<!--# include virtual="/pid" wait="yes" -->
--- request
GET /seq
--- response_body_like eval
qr{\Apid (\d+)\n\nupstream\n\npid \1\n\nupstream\n\npid \1\n\n\z}s
--- grep_error_log eval: qr/\[(?:error|alert|crit|emerg)\](?!.*upstream prematurely closed connection)|upstream prematurely closed connection|a fresh instance replaces the one that trapped|hostile: (?:\w+ ran|failing in \w+|enqueued [\w-]+|dequeued [\w-]+|ticks stopped)/
--- grep_error_log_out
hostile: on_request_headers ran
hostile: on_request_body ran
hostile: on_response_headers ran
hostile: on_response_body ran
hostile: on_done ran
hostile: failing in on_done
[error]
a fresh instance replaces the one that trapped
hostile: on_request_headers ran
hostile: on_request_body ran
hostile: on_response_headers ran
hostile: on_response_body ran
hostile: on_done ran
hostile: on_log ran
--- error_log eval
qr/\[error\] .*wasm plugin "hostile": [^,]*\bfailed: proxy_on_done trapped: interrupted: ran past its time limit of 20 ms/
--- no_error_log
[alert]
[crit]
[emerg]
exited on signal



=== TEST 34: done, spin, open: the upstream's answer, one [error] line, no later callback; the next request runs in a fresh instance
--- http_config
    wasm_plugin hostile ../../t/plugins/hostile.wasm time_limit=20ms memory_limit=16m;
--- config
    location = /t {
        proxy_wasm_failure open;
        proxy_wasm hostile '{"fail": "done", "how": "spin", "when": "header"}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/upstream;
    }
    location = /upstream {
        return 200 "upstream\n";
    }
    location = /pid {
        return 200 "pid $pid\n";
    }
    location /fail/ {
        proxy_method POST;
        proxy_set_body "payload";
        proxy_set_header X-Fail 1;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/;
    }
    location /pass/ {
        proxy_method POST;
        proxy_set_body "payload";
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
<!--# include virtual="/fail/t" wait="yes" -->
<!--# include virtual="/pid" wait="yes" -->
<!--# include virtual="/pass/t" wait="yes" -->
<!--# include virtual="/pid" wait="yes" -->
--- request
GET /seq
--- response_body_like eval
qr{\Apid (\d+)\n\nupstream\n\npid \1\n\nupstream\n\npid \1\n\n\z}s
--- grep_error_log eval: qr/\[(?:error|alert|crit|emerg)\](?!.*upstream prematurely closed connection)|upstream prematurely closed connection|a fresh instance replaces the one that trapped|hostile: (?:\w+ ran|failing in \w+|enqueued [\w-]+|dequeued [\w-]+|ticks stopped)/
--- grep_error_log_out
hostile: on_request_headers ran
hostile: on_request_body ran
hostile: on_response_headers ran
hostile: on_response_body ran
hostile: on_done ran
hostile: failing in on_done
[error]
a fresh instance replaces the one that trapped
hostile: on_request_headers ran
hostile: on_request_body ran
hostile: on_response_headers ran
hostile: on_response_body ran
hostile: on_done ran
hostile: on_log ran
--- error_log eval
qr/\[error\] .*wasm plugin "hostile": [^,]*\bfailed: proxy_on_done trapped: interrupted: ran past its time limit of 20 ms/
--- no_error_log
[alert]
[crit]
[emerg]
exited on signal



=== TEST 35: done, grow, closed: the answer already sent is unaffected, one [error] line, no later callback; the next request runs in a fresh instance
--- http_config
    wasm_plugin hostile ../../t/plugins/hostile.wasm time_limit=20ms memory_limit=16m;
--- config
    location = /t {
        proxy_wasm_failure closed;
        proxy_wasm hostile '{"fail": "done", "how": "grow", "when": "header"}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/upstream;
    }
    location = /upstream {
        return 200 "upstream\n";
    }
    location = /pid {
        return 200 "pid $pid\n";
    }
    location /fail/ {
        proxy_method POST;
        proxy_set_body "payload";
        proxy_set_header X-Fail 1;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/;
    }
    location /pass/ {
        proxy_method POST;
        proxy_set_body "payload";
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
<!--# include virtual="/fail/t" wait="yes" -->
<!--# include virtual="/pid" wait="yes" -->
<!--# include virtual="/pass/t" wait="yes" -->
<!--# include virtual="/pid" wait="yes" -->
--- request
GET /seq
--- response_body_like eval
qr{\Apid (\d+)\n\nupstream\n\npid \1\n\nupstream\n\npid \1\n\n\z}s
--- grep_error_log eval: qr/\[(?:error|alert|crit|emerg)\](?!.*upstream prematurely closed connection)|upstream prematurely closed connection|a fresh instance replaces the one that trapped|hostile: (?:\w+ ran|failing in \w+|enqueued [\w-]+|dequeued [\w-]+|ticks stopped)/
--- grep_error_log_out
hostile: on_request_headers ran
hostile: on_request_body ran
hostile: on_response_headers ran
hostile: on_response_body ran
hostile: on_done ran
hostile: failing in on_done
[error]
a fresh instance replaces the one that trapped
hostile: on_request_headers ran
hostile: on_request_body ran
hostile: on_response_headers ran
hostile: on_response_body ran
hostile: on_done ran
hostile: on_log ran
--- error_log eval
qr/\[error\] .*wasm plugin "hostile": [^,]*\bfailed: proxy_on_done trapped: .*memory/
--- no_error_log
[alert]
[crit]
[emerg]
exited on signal



=== TEST 36: done, grow, open: the upstream's answer, one [error] line, no later callback; the next request runs in a fresh instance
--- http_config
    wasm_plugin hostile ../../t/plugins/hostile.wasm time_limit=20ms memory_limit=16m;
--- config
    location = /t {
        proxy_wasm_failure open;
        proxy_wasm hostile '{"fail": "done", "how": "grow", "when": "header"}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/upstream;
    }
    location = /upstream {
        return 200 "upstream\n";
    }
    location = /pid {
        return 200 "pid $pid\n";
    }
    location /fail/ {
        proxy_method POST;
        proxy_set_body "payload";
        proxy_set_header X-Fail 1;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/;
    }
    location /pass/ {
        proxy_method POST;
        proxy_set_body "payload";
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
<!--# include virtual="/fail/t" wait="yes" -->
<!--# include virtual="/pid" wait="yes" -->
<!--# include virtual="/pass/t" wait="yes" -->
<!--# include virtual="/pid" wait="yes" -->
--- request
GET /seq
--- response_body_like eval
qr{\Apid (\d+)\n\nupstream\n\npid \1\n\nupstream\n\npid \1\n\n\z}s
--- grep_error_log eval: qr/\[(?:error|alert|crit|emerg)\](?!.*upstream prematurely closed connection)|upstream prematurely closed connection|a fresh instance replaces the one that trapped|hostile: (?:\w+ ran|failing in \w+|enqueued [\w-]+|dequeued [\w-]+|ticks stopped)/
--- grep_error_log_out
hostile: on_request_headers ran
hostile: on_request_body ran
hostile: on_response_headers ran
hostile: on_response_body ran
hostile: on_done ran
hostile: failing in on_done
[error]
a fresh instance replaces the one that trapped
hostile: on_request_headers ran
hostile: on_request_body ran
hostile: on_response_headers ran
hostile: on_response_body ran
hostile: on_done ran
hostile: on_log ran
--- error_log eval
qr/\[error\] .*wasm plugin "hostile": [^,]*\bfailed: proxy_on_done trapped: .*memory/
--- no_error_log
[alert]
[crit]
[emerg]
exited on signal



=== TEST 37: http_call_response, panic, closed: 500, one [error] line, no later callback; the next request runs in a fresh instance
--- http_config
    wasm_plugin hostile ../../t/plugins/hostile.wasm time_limit=20ms memory_limit=16m;
--- config
    location /proxy-wasm-calls {
        internal;
        proxy_wasm_http_calls;
        proxy_pass $proxy_wasm_call_url;
        proxy_set_header Host $proxy_wasm_call_authority;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
    }
    location = /t {
        proxy_wasm_failure closed;
        proxy_wasm hostile '{"fail": "http_call_response", "how": "panic", "when": "header", "upstream": "127.0.0.1:$TEST_NGINX_SERVER_PORT", "path": "/callee"}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/upstream;
    }
    location = /callee {
        return 200 "callee\n";
    }
    location = /upstream {
        return 200 "upstream\n";
    }
    location = /pid {
        return 200 "pid $pid\n";
    }
    location /fail/ {
        proxy_method POST;
        proxy_set_body "payload";
        proxy_set_header X-Fail 1;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/;
    }
    location /pass/ {
        proxy_method POST;
        proxy_set_body "payload";
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
<!--# include virtual="/fail/t" wait="yes" -->
<!--# include virtual="/pid" wait="yes" -->
<!--# include virtual="/pass/t" wait="yes" -->
<!--# include virtual="/pid" wait="yes" -->
--- request
GET /seq
--- response_body_like eval
qr{\Apid (\d+)\n\n<html>\r\n<head><title>500 Internal Server Error</title></head>\r\n.*?</html>\r\n\npid \1\n\nupstream\n\npid \1\n\n\z}s
--- grep_error_log eval: qr/\[(?:error|alert|crit|emerg)\](?!.*upstream prematurely closed connection)|upstream prematurely closed connection|a fresh instance replaces the one that trapped|hostile: (?:\w+ ran|failing in \w+|enqueued [\w-]+|dequeued [\w-]+|ticks stopped)/
--- grep_error_log_out
hostile: on_request_headers ran
hostile: on_http_call_response ran
hostile: failing in on_http_call_response
[error]
a fresh instance replaces the one that trapped
hostile: on_request_headers ran
hostile: on_http_call_response ran
hostile: on_request_body ran
hostile: on_response_headers ran
hostile: on_response_body ran
hostile: on_done ran
hostile: on_log ran
--- error_log eval
qr/\[error\] .*wasm plugin "hostile": proxy_on_http_call_response failed: proxy_on_http_call_response trapped: wasm trap: wasm `unreachable` instruction executed[^,]*; failing the request \(proxy_wasm_failure closed\)/
--- no_error_log
[alert]
[crit]
[emerg]
exited on signal



=== TEST 38: http_call_response, panic, open: the upstream's answer, one [error] line, no later callback; the next request runs in a fresh instance
--- http_config
    wasm_plugin hostile ../../t/plugins/hostile.wasm time_limit=20ms memory_limit=16m;
--- config
    location /proxy-wasm-calls {
        internal;
        proxy_wasm_http_calls;
        proxy_pass $proxy_wasm_call_url;
        proxy_set_header Host $proxy_wasm_call_authority;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
    }
    location = /t {
        proxy_wasm_failure open;
        proxy_wasm hostile '{"fail": "http_call_response", "how": "panic", "when": "header", "upstream": "127.0.0.1:$TEST_NGINX_SERVER_PORT", "path": "/callee"}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/upstream;
    }
    location = /callee {
        return 200 "callee\n";
    }
    location = /upstream {
        return 200 "upstream\n";
    }
    location = /pid {
        return 200 "pid $pid\n";
    }
    location /fail/ {
        proxy_method POST;
        proxy_set_body "payload";
        proxy_set_header X-Fail 1;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/;
    }
    location /pass/ {
        proxy_method POST;
        proxy_set_body "payload";
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
<!--# include virtual="/fail/t" wait="yes" -->
<!--# include virtual="/pid" wait="yes" -->
<!--# include virtual="/pass/t" wait="yes" -->
<!--# include virtual="/pid" wait="yes" -->
--- request
GET /seq
--- response_body_like eval
qr{\Apid (\d+)\n\nupstream\n\npid \1\n\nupstream\n\npid \1\n\n\z}s
--- grep_error_log eval: qr/\[(?:error|alert|crit|emerg)\](?!.*upstream prematurely closed connection)|upstream prematurely closed connection|a fresh instance replaces the one that trapped|hostile: (?:\w+ ran|failing in \w+|enqueued [\w-]+|dequeued [\w-]+|ticks stopped)/
--- grep_error_log_out
hostile: on_request_headers ran
hostile: on_http_call_response ran
hostile: failing in on_http_call_response
[error]
a fresh instance replaces the one that trapped
hostile: on_request_headers ran
hostile: on_http_call_response ran
hostile: on_request_body ran
hostile: on_response_headers ran
hostile: on_response_body ran
hostile: on_done ran
hostile: on_log ran
--- error_log eval
qr/\[error\] .*wasm plugin "hostile": proxy_on_http_call_response failed: proxy_on_http_call_response trapped: wasm trap: wasm `unreachable` instruction executed[^,]*; continuing without it \(proxy_wasm_failure open\)/
--- no_error_log
[alert]
[crit]
[emerg]
exited on signal



=== TEST 39: http_call_response, spin, closed: 500, one [error] line, no later callback; the next request runs in a fresh instance
--- http_config
    wasm_plugin hostile ../../t/plugins/hostile.wasm time_limit=20ms memory_limit=16m;
--- config
    location /proxy-wasm-calls {
        internal;
        proxy_wasm_http_calls;
        proxy_pass $proxy_wasm_call_url;
        proxy_set_header Host $proxy_wasm_call_authority;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
    }
    location = /t {
        proxy_wasm_failure closed;
        proxy_wasm hostile '{"fail": "http_call_response", "how": "spin", "when": "header", "upstream": "127.0.0.1:$TEST_NGINX_SERVER_PORT", "path": "/callee"}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/upstream;
    }
    location = /callee {
        return 200 "callee\n";
    }
    location = /upstream {
        return 200 "upstream\n";
    }
    location = /pid {
        return 200 "pid $pid\n";
    }
    location /fail/ {
        proxy_method POST;
        proxy_set_body "payload";
        proxy_set_header X-Fail 1;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/;
    }
    location /pass/ {
        proxy_method POST;
        proxy_set_body "payload";
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
<!--# include virtual="/fail/t" wait="yes" -->
<!--# include virtual="/pid" wait="yes" -->
<!--# include virtual="/pass/t" wait="yes" -->
<!--# include virtual="/pid" wait="yes" -->
--- request
GET /seq
--- response_body_like eval
qr{\Apid (\d+)\n\n<html>\r\n<head><title>500 Internal Server Error</title></head>\r\n.*?</html>\r\n\npid \1\n\nupstream\n\npid \1\n\n\z}s
--- grep_error_log eval: qr/\[(?:error|alert|crit|emerg)\](?!.*upstream prematurely closed connection)|upstream prematurely closed connection|a fresh instance replaces the one that trapped|hostile: (?:\w+ ran|failing in \w+|enqueued [\w-]+|dequeued [\w-]+|ticks stopped)/
--- grep_error_log_out
hostile: on_request_headers ran
hostile: on_http_call_response ran
hostile: failing in on_http_call_response
[error]
a fresh instance replaces the one that trapped
hostile: on_request_headers ran
hostile: on_http_call_response ran
hostile: on_request_body ran
hostile: on_response_headers ran
hostile: on_response_body ran
hostile: on_done ran
hostile: on_log ran
--- error_log eval
qr/\[error\] .*wasm plugin "hostile": proxy_on_http_call_response failed: proxy_on_http_call_response trapped: interrupted: ran past its time limit of 20 ms[^,]*; failing the request \(proxy_wasm_failure closed\)/
--- no_error_log
[alert]
[crit]
[emerg]
exited on signal



=== TEST 40: http_call_response, spin, open: the upstream's answer, one [error] line, no later callback; the next request runs in a fresh instance
--- http_config
    wasm_plugin hostile ../../t/plugins/hostile.wasm time_limit=20ms memory_limit=16m;
--- config
    location /proxy-wasm-calls {
        internal;
        proxy_wasm_http_calls;
        proxy_pass $proxy_wasm_call_url;
        proxy_set_header Host $proxy_wasm_call_authority;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
    }
    location = /t {
        proxy_wasm_failure open;
        proxy_wasm hostile '{"fail": "http_call_response", "how": "spin", "when": "header", "upstream": "127.0.0.1:$TEST_NGINX_SERVER_PORT", "path": "/callee"}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/upstream;
    }
    location = /callee {
        return 200 "callee\n";
    }
    location = /upstream {
        return 200 "upstream\n";
    }
    location = /pid {
        return 200 "pid $pid\n";
    }
    location /fail/ {
        proxy_method POST;
        proxy_set_body "payload";
        proxy_set_header X-Fail 1;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/;
    }
    location /pass/ {
        proxy_method POST;
        proxy_set_body "payload";
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
<!--# include virtual="/fail/t" wait="yes" -->
<!--# include virtual="/pid" wait="yes" -->
<!--# include virtual="/pass/t" wait="yes" -->
<!--# include virtual="/pid" wait="yes" -->
--- request
GET /seq
--- response_body_like eval
qr{\Apid (\d+)\n\nupstream\n\npid \1\n\nupstream\n\npid \1\n\n\z}s
--- grep_error_log eval: qr/\[(?:error|alert|crit|emerg)\](?!.*upstream prematurely closed connection)|upstream prematurely closed connection|a fresh instance replaces the one that trapped|hostile: (?:\w+ ran|failing in \w+|enqueued [\w-]+|dequeued [\w-]+|ticks stopped)/
--- grep_error_log_out
hostile: on_request_headers ran
hostile: on_http_call_response ran
hostile: failing in on_http_call_response
[error]
a fresh instance replaces the one that trapped
hostile: on_request_headers ran
hostile: on_http_call_response ran
hostile: on_request_body ran
hostile: on_response_headers ran
hostile: on_response_body ran
hostile: on_done ran
hostile: on_log ran
--- error_log eval
qr/\[error\] .*wasm plugin "hostile": proxy_on_http_call_response failed: proxy_on_http_call_response trapped: interrupted: ran past its time limit of 20 ms[^,]*; continuing without it \(proxy_wasm_failure open\)/
--- no_error_log
[alert]
[crit]
[emerg]
exited on signal



=== TEST 41: http_call_response, grow, closed: 500, one [error] line, no later callback; the next request runs in a fresh instance
--- http_config
    wasm_plugin hostile ../../t/plugins/hostile.wasm time_limit=20ms memory_limit=16m;
--- config
    location /proxy-wasm-calls {
        internal;
        proxy_wasm_http_calls;
        proxy_pass $proxy_wasm_call_url;
        proxy_set_header Host $proxy_wasm_call_authority;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
    }
    location = /t {
        proxy_wasm_failure closed;
        proxy_wasm hostile '{"fail": "http_call_response", "how": "grow", "when": "header", "upstream": "127.0.0.1:$TEST_NGINX_SERVER_PORT", "path": "/callee"}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/upstream;
    }
    location = /callee {
        return 200 "callee\n";
    }
    location = /upstream {
        return 200 "upstream\n";
    }
    location = /pid {
        return 200 "pid $pid\n";
    }
    location /fail/ {
        proxy_method POST;
        proxy_set_body "payload";
        proxy_set_header X-Fail 1;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/;
    }
    location /pass/ {
        proxy_method POST;
        proxy_set_body "payload";
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
<!--# include virtual="/fail/t" wait="yes" -->
<!--# include virtual="/pid" wait="yes" -->
<!--# include virtual="/pass/t" wait="yes" -->
<!--# include virtual="/pid" wait="yes" -->
--- request
GET /seq
--- response_body_like eval
qr{\Apid (\d+)\n\n<html>\r\n<head><title>500 Internal Server Error</title></head>\r\n.*?</html>\r\n\npid \1\n\nupstream\n\npid \1\n\n\z}s
--- grep_error_log eval: qr/\[(?:error|alert|crit|emerg)\](?!.*upstream prematurely closed connection)|upstream prematurely closed connection|a fresh instance replaces the one that trapped|hostile: (?:\w+ ran|failing in \w+|enqueued [\w-]+|dequeued [\w-]+|ticks stopped)/
--- grep_error_log_out
hostile: on_request_headers ran
hostile: on_http_call_response ran
hostile: failing in on_http_call_response
[error]
a fresh instance replaces the one that trapped
hostile: on_request_headers ran
hostile: on_http_call_response ran
hostile: on_request_body ran
hostile: on_response_headers ran
hostile: on_response_body ran
hostile: on_done ran
hostile: on_log ran
--- error_log eval
qr/\[error\] .*wasm plugin "hostile": proxy_on_http_call_response failed: proxy_on_http_call_response trapped: .*memory[^,]*; failing the request \(proxy_wasm_failure closed\)/
--- no_error_log
[alert]
[crit]
[emerg]
exited on signal



=== TEST 42: http_call_response, grow, open: the upstream's answer, one [error] line, no later callback; the next request runs in a fresh instance
--- http_config
    wasm_plugin hostile ../../t/plugins/hostile.wasm time_limit=20ms memory_limit=16m;
--- config
    location /proxy-wasm-calls {
        internal;
        proxy_wasm_http_calls;
        proxy_pass $proxy_wasm_call_url;
        proxy_set_header Host $proxy_wasm_call_authority;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
    }
    location = /t {
        proxy_wasm_failure open;
        proxy_wasm hostile '{"fail": "http_call_response", "how": "grow", "when": "header", "upstream": "127.0.0.1:$TEST_NGINX_SERVER_PORT", "path": "/callee"}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/upstream;
    }
    location = /callee {
        return 200 "callee\n";
    }
    location = /upstream {
        return 200 "upstream\n";
    }
    location = /pid {
        return 200 "pid $pid\n";
    }
    location /fail/ {
        proxy_method POST;
        proxy_set_body "payload";
        proxy_set_header X-Fail 1;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/;
    }
    location /pass/ {
        proxy_method POST;
        proxy_set_body "payload";
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
<!--# include virtual="/fail/t" wait="yes" -->
<!--# include virtual="/pid" wait="yes" -->
<!--# include virtual="/pass/t" wait="yes" -->
<!--# include virtual="/pid" wait="yes" -->
--- request
GET /seq
--- response_body_like eval
qr{\Apid (\d+)\n\nupstream\n\npid \1\n\nupstream\n\npid \1\n\n\z}s
--- grep_error_log eval: qr/\[(?:error|alert|crit|emerg)\](?!.*upstream prematurely closed connection)|upstream prematurely closed connection|a fresh instance replaces the one that trapped|hostile: (?:\w+ ran|failing in \w+|enqueued [\w-]+|dequeued [\w-]+|ticks stopped)/
--- grep_error_log_out
hostile: on_request_headers ran
hostile: on_http_call_response ran
hostile: failing in on_http_call_response
[error]
a fresh instance replaces the one that trapped
hostile: on_request_headers ran
hostile: on_http_call_response ran
hostile: on_request_body ran
hostile: on_response_headers ran
hostile: on_response_body ran
hostile: on_done ran
hostile: on_log ran
--- error_log eval
qr/\[error\] .*wasm plugin "hostile": proxy_on_http_call_response failed: proxy_on_http_call_response trapped: .*memory[^,]*; continuing without it \(proxy_wasm_failure open\)/
--- no_error_log
[alert]
[crit]
[emerg]
exited on signal



=== TEST 43: request_headers, panic, every request, closed: each request fails alone (one [error] line each), each in a fresh instance after the first
--- http_config
    wasm_plugin hostile ../../t/plugins/hostile.wasm time_limit=20ms memory_limit=16m;
--- config
    location = /t {
        proxy_wasm_failure closed;
        proxy_wasm hostile '{"fail": "request_headers", "how": "panic"}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/upstream;
    }
    location = /upstream {
        return 200 "upstream\n";
    }
    location = /pid {
        return 200 "pid $pid\n";
    }
    location /fail/ {
        proxy_method POST;
        proxy_set_body "payload";
        proxy_set_header X-Fail 1;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/;
    }
    location /pass/ {
        proxy_method POST;
        proxy_set_body "payload";
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
<!--# include virtual="/pass/t" wait="yes" -->
<!--# include virtual="/pid" wait="yes" -->
<!--# include virtual="/pass/t" wait="yes" -->
<!--# include virtual="/pid" wait="yes" -->
--- request
GET /seq
--- response_body_like eval
qr{\Apid (\d+)\n\n<html>\r\n<head><title>500 Internal Server Error</title></head>\r\n.*?</html>\r\n\npid \1\n\n<html>\r\n<head><title>500 Internal Server Error</title></head>\r\n.*?</html>\r\n\npid \1\n\n\z}s
--- grep_error_log eval: qr/\[(?:error|alert|crit|emerg)\](?!.*upstream prematurely closed connection)|upstream prematurely closed connection|a fresh instance replaces the one that trapped|hostile: (?:\w+ ran|failing in \w+|enqueued [\w-]+|dequeued [\w-]+|ticks stopped)/
--- grep_error_log_out
hostile: on_request_headers ran
hostile: failing in on_request_headers
[error]
a fresh instance replaces the one that trapped
hostile: on_request_headers ran
hostile: failing in on_request_headers
[error]
--- error_log eval
qr/\[error\] .*wasm plugin "hostile": proxy_on_request_headers failed: proxy_on_request_headers trapped: wasm trap: wasm `unreachable` instruction executed[^,]*; failing the request \(proxy_wasm_failure closed\)/
--- no_error_log
[alert]
[crit]
[emerg]
exited on signal



=== TEST 44: request_headers, panic, every request, open: each request fails alone (one [error] line each), each in a fresh instance after the first
--- http_config
    wasm_plugin hostile ../../t/plugins/hostile.wasm time_limit=20ms memory_limit=16m;
--- config
    location = /t {
        proxy_wasm_failure open;
        proxy_wasm hostile '{"fail": "request_headers", "how": "panic"}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/upstream;
    }
    location = /upstream {
        return 200 "upstream\n";
    }
    location = /pid {
        return 200 "pid $pid\n";
    }
    location /fail/ {
        proxy_method POST;
        proxy_set_body "payload";
        proxy_set_header X-Fail 1;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/;
    }
    location /pass/ {
        proxy_method POST;
        proxy_set_body "payload";
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
<!--# include virtual="/pass/t" wait="yes" -->
<!--# include virtual="/pid" wait="yes" -->
<!--# include virtual="/pass/t" wait="yes" -->
<!--# include virtual="/pid" wait="yes" -->
--- request
GET /seq
--- response_body_like eval
qr{\Apid (\d+)\n\nupstream\n\npid \1\n\nupstream\n\npid \1\n\n\z}s
--- grep_error_log eval: qr/\[(?:error|alert|crit|emerg)\](?!.*upstream prematurely closed connection)|upstream prematurely closed connection|a fresh instance replaces the one that trapped|hostile: (?:\w+ ran|failing in \w+|enqueued [\w-]+|dequeued [\w-]+|ticks stopped)/
--- grep_error_log_out
hostile: on_request_headers ran
hostile: failing in on_request_headers
[error]
a fresh instance replaces the one that trapped
hostile: on_request_headers ran
hostile: failing in on_request_headers
[error]
--- error_log eval
qr/\[error\] .*wasm plugin "hostile": proxy_on_request_headers failed: proxy_on_request_headers trapped: wasm trap: wasm `unreachable` instruction executed[^,]*; continuing without it \(proxy_wasm_failure open\)/
--- no_error_log
[alert]
[crit]
[emerg]
exited on signal



=== TEST 45: tick, panic: one [error] line naming proxy_on_tick, the worker serves on, the next tick runs in a fresh instance
--- http_config
    wasm_plugin hostile ../../t/plugins/hostile.wasm time_limit=20ms memory_limit=16m;
    limit_req_zone $server_name zone=pause:1m rate=10r/s;
--- config
    location = /ticker {
        proxy_wasm hostile '{"fail": "tick", "how": "panic", "when": "once", "tick_ms": 20}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/upstream;
    }
    location = /pause {
        limit_req zone=pause burst=10;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/paused;
    }
    location = /paused {
        return 200 "paused\n";
    }
    location = /upstream {
        return 200 "upstream\n";
    }
    location = /pid {
        return 200 "pid $pid\n";
    }
    location /fail/ {
        proxy_method POST;
        proxy_set_body "payload";
        proxy_set_header X-Fail 1;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/;
    }
    location /pass/ {
        proxy_method POST;
        proxy_set_body "payload";
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
<!--# include virtual="/pass/pause" wait="yes" -->
<!--# include virtual="/pass/pause" wait="yes" -->
<!--# include virtual="/pass/pause" wait="yes" -->
<!--# include virtual="/pid" wait="yes" -->
--- request
GET /seq
--- wait: 0.1
--- response_body_like eval
qr{\Apid (\d+)\n\npaused\n\npaused\n\npaused\n\npid \1\n\n\z}s
--- grep_error_log eval: qr/\[(?:error|alert|crit|emerg)\](?!.*upstream prematurely closed connection)|upstream prematurely closed connection|a fresh instance replaces the one that trapped|hostile: (?:\w+ ran|failing in \w+|enqueued [\w-]+|dequeued [\w-]+|ticks stopped)/
--- grep_error_log_out
hostile: on_tick ran
hostile: failing in on_tick
[error]
a fresh instance replaces the one that trapped
hostile: on_tick ran
hostile: ticks stopped
--- error_log eval
qr/\[error\] .*wasm plugin "hostile": [^,]*\bproxy_on_tick trapped: wasm trap: wasm `unreachable` instruction executed/
--- no_error_log
[alert]
[crit]
[emerg]
exited on signal



=== TEST 46: tick, spin: one [error] line naming proxy_on_tick, the worker serves on, the next tick runs in a fresh instance
--- http_config
    wasm_plugin hostile ../../t/plugins/hostile.wasm time_limit=20ms memory_limit=16m;
    limit_req_zone $server_name zone=pause:1m rate=10r/s;
--- config
    location = /ticker {
        proxy_wasm hostile '{"fail": "tick", "how": "spin", "when": "once", "tick_ms": 20}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/upstream;
    }
    location = /pause {
        limit_req zone=pause burst=10;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/paused;
    }
    location = /paused {
        return 200 "paused\n";
    }
    location = /upstream {
        return 200 "upstream\n";
    }
    location = /pid {
        return 200 "pid $pid\n";
    }
    location /fail/ {
        proxy_method POST;
        proxy_set_body "payload";
        proxy_set_header X-Fail 1;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/;
    }
    location /pass/ {
        proxy_method POST;
        proxy_set_body "payload";
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
<!--# include virtual="/pass/pause" wait="yes" -->
<!--# include virtual="/pass/pause" wait="yes" -->
<!--# include virtual="/pass/pause" wait="yes" -->
<!--# include virtual="/pid" wait="yes" -->
--- request
GET /seq
--- wait: 0.1
--- response_body_like eval
qr{\Apid (\d+)\n\npaused\n\npaused\n\npaused\n\npid \1\n\n\z}s
--- grep_error_log eval: qr/\[(?:error|alert|crit|emerg)\](?!.*upstream prematurely closed connection)|upstream prematurely closed connection|a fresh instance replaces the one that trapped|hostile: (?:\w+ ran|failing in \w+|enqueued [\w-]+|dequeued [\w-]+|ticks stopped)/
--- grep_error_log_out
hostile: on_tick ran
hostile: failing in on_tick
[error]
a fresh instance replaces the one that trapped
hostile: on_tick ran
hostile: ticks stopped
--- error_log eval
qr/\[error\] .*wasm plugin "hostile": [^,]*\bproxy_on_tick trapped: interrupted: ran past its time limit of 20 ms/
--- no_error_log
[alert]
[crit]
[emerg]
exited on signal



=== TEST 47: tick, grow: one [error] line naming proxy_on_tick, the worker serves on, the next tick runs in a fresh instance
--- http_config
    wasm_plugin hostile ../../t/plugins/hostile.wasm time_limit=20ms memory_limit=16m;
    limit_req_zone $server_name zone=pause:1m rate=10r/s;
--- config
    location = /ticker {
        proxy_wasm hostile '{"fail": "tick", "how": "grow", "when": "once", "tick_ms": 20}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/upstream;
    }
    location = /pause {
        limit_req zone=pause burst=10;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/paused;
    }
    location = /paused {
        return 200 "paused\n";
    }
    location = /upstream {
        return 200 "upstream\n";
    }
    location = /pid {
        return 200 "pid $pid\n";
    }
    location /fail/ {
        proxy_method POST;
        proxy_set_body "payload";
        proxy_set_header X-Fail 1;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/;
    }
    location /pass/ {
        proxy_method POST;
        proxy_set_body "payload";
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
<!--# include virtual="/pass/pause" wait="yes" -->
<!--# include virtual="/pass/pause" wait="yes" -->
<!--# include virtual="/pass/pause" wait="yes" -->
<!--# include virtual="/pid" wait="yes" -->
--- request
GET /seq
--- wait: 0.1
--- response_body_like eval
qr{\Apid (\d+)\n\npaused\n\npaused\n\npaused\n\npid \1\n\n\z}s
--- grep_error_log eval: qr/\[(?:error|alert|crit|emerg)\](?!.*upstream prematurely closed connection)|upstream prematurely closed connection|a fresh instance replaces the one that trapped|hostile: (?:\w+ ran|failing in \w+|enqueued [\w-]+|dequeued [\w-]+|ticks stopped)/
--- grep_error_log_out
hostile: on_tick ran
hostile: failing in on_tick
[error]
a fresh instance replaces the one that trapped
hostile: on_tick ran
hostile: ticks stopped
--- error_log eval
qr/\[error\] .*wasm plugin "hostile": [^,]*\bproxy_on_tick trapped: .*memory/
--- no_error_log
[alert]
[crit]
[emerg]
exited on signal



=== TEST 48: queue_ready, panic: one [error] line naming proxy_on_queue_ready, the worker serves on, the next event runs in a fresh instance
--- http_config
    wasm_plugin hostile ../../t/plugins/hostile.wasm time_limit=20ms memory_limit=16m;
    limit_req_zone $server_name zone=pause:1m rate=10r/s;
    wasm_plugin producer ../../t/plugins/hostile.wasm;
--- config
    location = /consumer {
        proxy_wasm hostile '{"fail": "queue_ready", "how": "panic", "when": "once", "queue": "hq"}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/upstream;
    }
    location = /enqueue {
        proxy_wasm producer '{"enqueue": "hq"}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/upstream;
    }
    location = /pause {
        limit_req zone=pause burst=10;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/paused;
    }
    location = /paused {
        return 200 "paused\n";
    }
    location = /upstream {
        return 200 "upstream\n";
    }
    location = /pid {
        return 200 "pid $pid\n";
    }
    location /fail/ {
        proxy_method POST;
        proxy_set_body "payload";
        proxy_set_header X-Fail 1;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/;
    }
    location /pass/ {
        proxy_method POST;
        proxy_set_body "payload";
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
<!--# include virtual="/pass/enqueue?1" wait="yes" -->
<!--# include virtual="/pass/pause" wait="yes" -->
<!--# include virtual="/pass/pause" wait="yes" -->
<!--# include virtual="/pid" wait="yes" -->
<!--# include virtual="/pass/enqueue?2" wait="yes" -->
<!--# include virtual="/pass/pause" wait="yes" -->
<!--# include virtual="/pass/pause" wait="yes" -->
<!--# include virtual="/pid" wait="yes" -->
--- request
GET /seq
--- response_body_like eval
qr{\Apid (\d+)\n\nupstream\n\npaused\n\npaused\n\npid \1\n\nupstream\n\npaused\n\npaused\n\npid \1\n\n\z}s
--- grep_error_log eval: qr/\[(?:error|alert|crit|emerg)\]|a fresh instance replaces the one that trapped|hostile: (?:on_queue_ready ran|failing in \w+|enqueued [\w-]+|dequeued [\w-]+)/
--- grep_error_log_out
hostile: enqueued 1
hostile: on_queue_ready ran
hostile: failing in on_queue_ready
[error]
a fresh instance replaces the one that trapped
hostile: on_queue_ready ran
hostile: dequeued 1
hostile: enqueued 2
hostile: on_queue_ready ran
hostile: dequeued 2
--- error_log eval
qr/\[error\] .*wasm plugin "hostile": [^,]*\bproxy_on_queue_ready trapped: wasm trap: wasm `unreachable` instruction executed/
--- no_error_log
[alert]
[crit]
[emerg]
exited on signal



=== TEST 49: queue_ready, spin: one [error] line naming proxy_on_queue_ready, the worker serves on, the next event runs in a fresh instance
--- http_config
    wasm_plugin hostile ../../t/plugins/hostile.wasm time_limit=20ms memory_limit=16m;
    limit_req_zone $server_name zone=pause:1m rate=10r/s;
    wasm_plugin producer ../../t/plugins/hostile.wasm;
--- config
    location = /consumer {
        proxy_wasm hostile '{"fail": "queue_ready", "how": "spin", "when": "once", "queue": "hq"}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/upstream;
    }
    location = /enqueue {
        proxy_wasm producer '{"enqueue": "hq"}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/upstream;
    }
    location = /pause {
        limit_req zone=pause burst=10;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/paused;
    }
    location = /paused {
        return 200 "paused\n";
    }
    location = /upstream {
        return 200 "upstream\n";
    }
    location = /pid {
        return 200 "pid $pid\n";
    }
    location /fail/ {
        proxy_method POST;
        proxy_set_body "payload";
        proxy_set_header X-Fail 1;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/;
    }
    location /pass/ {
        proxy_method POST;
        proxy_set_body "payload";
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
<!--# include virtual="/pass/enqueue?1" wait="yes" -->
<!--# include virtual="/pass/pause" wait="yes" -->
<!--# include virtual="/pass/pause" wait="yes" -->
<!--# include virtual="/pid" wait="yes" -->
<!--# include virtual="/pass/enqueue?2" wait="yes" -->
<!--# include virtual="/pass/pause" wait="yes" -->
<!--# include virtual="/pass/pause" wait="yes" -->
<!--# include virtual="/pid" wait="yes" -->
--- request
GET /seq
--- response_body_like eval
qr{\Apid (\d+)\n\nupstream\n\npaused\n\npaused\n\npid \1\n\nupstream\n\npaused\n\npaused\n\npid \1\n\n\z}s
--- grep_error_log eval: qr/\[(?:error|alert|crit|emerg)\]|a fresh instance replaces the one that trapped|hostile: (?:on_queue_ready ran|failing in \w+|enqueued [\w-]+|dequeued [\w-]+)/
--- grep_error_log_out
hostile: enqueued 1
hostile: on_queue_ready ran
hostile: failing in on_queue_ready
[error]
a fresh instance replaces the one that trapped
hostile: on_queue_ready ran
hostile: dequeued 1
hostile: enqueued 2
hostile: on_queue_ready ran
hostile: dequeued 2
--- error_log eval
qr/\[error\] .*wasm plugin "hostile": [^,]*\bproxy_on_queue_ready trapped: interrupted: ran past its time limit of 20 ms/
--- no_error_log
[alert]
[crit]
[emerg]
exited on signal



=== TEST 50: queue_ready, grow: one [error] line naming proxy_on_queue_ready, the worker serves on, the next event runs in a fresh instance
--- http_config
    wasm_plugin hostile ../../t/plugins/hostile.wasm time_limit=20ms memory_limit=16m;
    limit_req_zone $server_name zone=pause:1m rate=10r/s;
    wasm_plugin producer ../../t/plugins/hostile.wasm;
--- config
    location = /consumer {
        proxy_wasm hostile '{"fail": "queue_ready", "how": "grow", "when": "once", "queue": "hq"}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/upstream;
    }
    location = /enqueue {
        proxy_wasm producer '{"enqueue": "hq"}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/upstream;
    }
    location = /pause {
        limit_req zone=pause burst=10;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/paused;
    }
    location = /paused {
        return 200 "paused\n";
    }
    location = /upstream {
        return 200 "upstream\n";
    }
    location = /pid {
        return 200 "pid $pid\n";
    }
    location /fail/ {
        proxy_method POST;
        proxy_set_body "payload";
        proxy_set_header X-Fail 1;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/;
    }
    location /pass/ {
        proxy_method POST;
        proxy_set_body "payload";
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
<!--# include virtual="/pass/enqueue?1" wait="yes" -->
<!--# include virtual="/pass/pause" wait="yes" -->
<!--# include virtual="/pass/pause" wait="yes" -->
<!--# include virtual="/pid" wait="yes" -->
<!--# include virtual="/pass/enqueue?2" wait="yes" -->
<!--# include virtual="/pass/pause" wait="yes" -->
<!--# include virtual="/pass/pause" wait="yes" -->
<!--# include virtual="/pid" wait="yes" -->
--- request
GET /seq
--- response_body_like eval
qr{\Apid (\d+)\n\nupstream\n\npaused\n\npaused\n\npid \1\n\nupstream\n\npaused\n\npaused\n\npid \1\n\n\z}s
--- grep_error_log eval: qr/\[(?:error|alert|crit|emerg)\]|a fresh instance replaces the one that trapped|hostile: (?:on_queue_ready ran|failing in \w+|enqueued [\w-]+|dequeued [\w-]+)/
--- grep_error_log_out
hostile: enqueued 1
hostile: on_queue_ready ran
hostile: failing in on_queue_ready
[error]
a fresh instance replaces the one that trapped
hostile: on_queue_ready ran
hostile: dequeued 1
hostile: enqueued 2
hostile: on_queue_ready ran
hostile: dequeued 2
--- error_log eval
qr/\[error\] .*wasm plugin "hostile": [^,]*\bproxy_on_queue_ready trapped: .*memory/
--- no_error_log
[alert]
[crit]
[emerg]
exited on signal



=== TEST 51: a plugin that does not fail: every callback runs on both requests, no [error], [alert] or [crit]
--- http_config
    wasm_plugin hostile ../../t/plugins/hostile.wasm time_limit=20ms memory_limit=16m;
--- config
    location = /t {
        proxy_wasm hostile '{}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/upstream;
    }
    location = /upstream {
        return 200 "upstream\n";
    }
    location = /pid {
        return 200 "pid $pid\n";
    }
    location /fail/ {
        proxy_method POST;
        proxy_set_body "payload";
        proxy_set_header X-Fail 1;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/;
    }
    location /pass/ {
        proxy_method POST;
        proxy_set_body "payload";
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
<!--# include virtual="/fail/t" wait="yes" -->
<!--# include virtual="/pid" wait="yes" -->
<!--# include virtual="/pass/t" wait="yes" -->
<!--# include virtual="/pid" wait="yes" -->
--- request
GET /seq
--- response_body_like eval
qr{\Apid (\d+)\n\nupstream\n\npid \1\n\nupstream\n\npid \1\n\n\z}s
--- grep_error_log eval: qr/\[(?:error|alert|crit|emerg)\](?!.*upstream prematurely closed connection)|upstream prematurely closed connection|a fresh instance replaces the one that trapped|hostile: (?:\w+ ran|failing in \w+|enqueued [\w-]+|dequeued [\w-]+|ticks stopped)/
--- grep_error_log_out
hostile: on_request_headers ran
hostile: on_request_body ran
hostile: on_response_headers ran
hostile: on_response_body ran
hostile: on_done ran
hostile: on_log ran
hostile: on_request_headers ran
hostile: on_request_body ran
hostile: on_response_headers ran
hostile: on_response_body ran
hostile: on_done ran
hostile: on_log ran
--- no_error_log
[error]
[alert]
[crit]
[emerg]
