# Plugins run as services (`proxy_wasm_service`): a declared plugin's root context that no location attaches, as
# Envoy runs a Wasm service. Per worker, every worker ticks it; a singleton ticks in one worker only. A service
# dispatches calls from its ticks (no request exists). Plugin: t/plugins/hostcalls (Rust SDK). Two workers. The
# same services across a reload: t/reload/run.sh.
use Test::Nginx::Socket 'no_plan';

master_on();
workers(2);
log_level('info');
no_shuffle();
run_tests();

__DATA__

=== TEST 1: a service runs in every worker: ticks come from two worker processes
--- http_config
    wasm_plugin hostcalls ../../t/plugins/hostcalls.wasm;
    proxy_wasm_service hostcalls '{"tick_period_ms": 50, "on_tick": [{"op": "log", "msg": "service tick"}]}';
--- config
    location /t {
        return 200 "ok\n";
    }
--- request
GET /t
--- response_body
ok
--- wait: 0.5
--- grep_error_log eval: qr/\d+#\d+: wasm plugin "hostcalls": hostcalls: on_tick: service tick/
--- grep_error_log_out eval
qr/(\d+)#\d+: wasm plugin "hostcalls": hostcalls: on_tick: service tick\n(?:.*\n)*?(?!\1#)\d+#\d+: wasm plugin "hostcalls": hostcalls: on_tick: service tick\n/
--- no_error_log
[error]
[alert]
[crit]



=== TEST 2: a singleton service runs in one worker only: every tick comes from the same process
--- http_config
    wasm_plugin hostcalls ../../t/plugins/hostcalls.wasm;
    proxy_wasm_service hostcalls '{"tick_period_ms": 50, "on_tick": [{"op": "log", "msg": "singleton tick"}]}' singleton;
--- config
    location /t {
        return 200 "ok\n";
    }
--- request
GET /t
--- response_body
ok
--- wait: 0.5
--- grep_error_log eval: qr/\d+#\d+: wasm plugin "hostcalls": hostcalls: on_tick: singleton tick/
--- grep_error_log_out eval
qr/\A(\d+)#\d+: wasm plugin "hostcalls": hostcalls: on_tick: singleton tick\n(?:\1#\d+: wasm plugin "hostcalls": hostcalls: on_tick: singleton tick\n)+\z/
--- no_error_log
[error]
[alert]
[crit]



=== TEST 3: a singleton service calls an upstream from its first tick and reads the answer (calls where no request exists)
--- http_config
    wasm_plugin hostcalls ../../t/plugins/hostcalls.wasm;
    upstream control {
        server 127.0.0.1:$TEST_NGINX_SERVER_PORT;
    }
    proxy_wasm_service hostcalls '{"tick_period_ms": 50,
        "on_tick": [{"op": "dispatch", "if_call": 1, "upstream": "control", "headers": [[":path", "/control"], [":authority", "control.test"]]}],
        "on_root_http_call_response": [{"op": "get_body"}]}' singleton;
--- config
    location /proxy-wasm-calls {
        internal;
        proxy_wasm_http_calls;
        proxy_pass $proxy_wasm_call_url;
        proxy_set_header Host $proxy_wasm_call_authority;
    }
    location = /control {
        return 200 "settings for $http_host";
    }
    location /t {
        return 200 "ok\n";
    }
--- request
GET /t
--- response_body
ok
--- wait: 0.5
--- grep_error_log eval: qr/on_root_http_call_response: get_body [^,\n]*/
--- grep_error_log_out
on_root_http_call_response: get_body http_call_response_body -> Ok "settings for control.test"
--- no_error_log
[error]
[alert]
[crit]



=== TEST 4: a service of an undeclared plugin, or with a third argument other than "singleton", is a configuration error (messages: t/37-config-errors.t TEST 15, 16)
--- http_config
    wasm_plugin hostcalls ../../t/plugins/hostcalls.wasm;
    proxy_wasm_service hostcalls '{}' once;
--- config
    location /t {
        return 200 "ok\n";
    }
--- request
GET /t
--- must_die
