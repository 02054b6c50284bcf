# Shared data, queues and metrics on the directive path (no Lua): the statuses plugins get for every refusal,
# the Prometheus endpoint, the shared-memory directive. Plugin: t/plugins/shared_state.
use Test::Nginx::Socket 'no_plan';

master_on();
workers(2);
log_level('info');
no_shuffle();
run_tests();

__DATA__

=== TEST 1: the statuses of the shared-state host calls, as Envoy returns them and the SDKs expect
--- http_config
    wasm_plugin shared_state ../../t/plugins/shared_state.wasm;
--- config
    location /t {
        proxy_wasm shared_state '{"probe": true}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/ok;
    }
    location = /ok {
        return 200 "ok\n";
    }
--- request
GET /t
--- response_body
ok
--- grep_error_log eval: qr/shared_state: probe [^,]*/
--- grep_error_log_out
shared_state: probe get missing -> NotFound
shared_state: probe set -> Ok
shared_state: probe get cas_nonzero=true -> Ok
shared_state: probe set stale cas -> CasMismatch
shared_state: probe set current cas -> Ok
shared_state: probe get bad pointer -> InvalidMemoryAccess
shared_state: probe resolve missing -> NotFound
shared_state: probe dequeue unknown -> NotFound
shared_state: probe enqueue unknown -> NotFound
shared_state: probe register -> Ok
shared_state: probe dequeue empty -> Empty
shared_state: probe define bad type -> BadArgument
shared_state: probe define counter -> Ok
shared_state: probe increment counter by -1 -> BadArgument
shared_state: probe get with the wrong type -> NotFound
shared_state: probe define histogram -> Ok
shared_state: probe get histogram -> BadArgument
--- no_error_log
[error]
[alert]
[crit]



=== TEST 2: requests counted by two workers: the shared counter and the Prometheus endpoint report the exact total
--- http_config
    wasm_plugin shared_state ../../t/plugins/shared_state.wasm;
--- config
    location /count {
        proxy_wasm shared_state '{"count": {"key": "requests", "metric": "requests_total"}}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/ok;
    }
    location = /ok {
        return 200 "ok\n";
    }
    location /report {
        proxy_wasm shared_state '{"report": {"key": "requests", "metric": "requests_total"}}';
    }
    location = /metrics {
        proxy_wasm_metrics;
    }
--- request eval
[("GET /count") x 10, "GET /report", "GET /metrics", "HEAD /metrics", "POST /metrics"]
--- error_code eval
[(200) x 13, 405]
--- response_body_like eval
[("ok\n") x 10, "^counter=10 metric=10\n\\z", "^# TYPE requests_total counter\nrequests_total 10\n\\z", "^\\z", "405 Not Allowed"]
--- grep_error_log eval: qr/shared_state: count \d+/
--- grep_error_log_out eval
qr/\A(?:shared_state: count (?:[1-9]|10)\n)?\z/
--- no_error_log
[error]
[alert]
[crit]



=== TEST 3: proxy_wasm_shared_memory: a bad size is refused (the message, with file and line: t/37-config-errors.t)
--- http_config
    proxy_wasm_shared_memory 1x;
--- config
--- must_die



=== TEST 4: proxy_wasm_shared_memory outside its bounds is refused (the message: t/37-config-errors.t)
--- http_config
    proxy_wasm_shared_memory 64k;
--- config
--- must_die



=== TEST 5: proxy_wasm_metrics takes no argument (the message: t/37-config-errors.t)
--- config
    location /m {
        proxy_wasm_metrics on;
    }
--- must_die
