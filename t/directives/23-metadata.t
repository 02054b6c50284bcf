# Envoy's dynamic metadata and filter state (`metadata.filter_metadata.<namespace>.<key>`, `filter_state.<key>`)
# on the directive path: they read nginx variables ($proxy_wasm_metadata_<namespace>_<key>,
# $proxy_wasm_filter_state_<key>; other characters become `_`) an nginx user sets with `set` or `map`; a plugin's
# write goes to such a variable when it is declared (nginx then sees it), else it stays with the request for the
# next plugins; and plugin_root_id (root_id=). Plugin: t/plugins/hostcalls. The same through Lua: t/52-metadata.t.
use Test::Nginx::Socket 'no_plan';

log_level('info');
no_shuffle();
run_tests();

__DATA__

=== TEST 1: dynamic metadata an nginx user set (set $proxy_wasm_metadata_envoy_lb_canary) is read by a plugin; what nobody set is NotFound
--- http_config
    wasm_plugin hostcalls ../../t/plugins/hostcalls.wasm;
--- config
    location /t {
        set $proxy_wasm_metadata_envoy_lb_canary "yes";
        proxy_wasm hostcalls '{"on_request_headers": [{"op": "get_property", "path": ["metadata", "filter_metadata", "envoy.lb", "canary"]},
                                                      {"op": "get_property", "path": ["filter_state", "tenant"]}]}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "up\n";
    }
--- request
GET /t
--- response_body
up
--- grep_error_log eval: qr/get_property [^,]*/
--- grep_error_log_out
get_property metadata.filter_metadata.envoy.lb.canary -> Ok "yes"
get_property filter_state.tenant -> NotFound
--- no_error_log
[error]
[alert]
[crit]



=== TEST 2: filter state one plugin sets is read by the next one in the chain (no variable declared: it stays with the request)
--- http_config
    wasm_plugin hostcalls ../../t/plugins/hostcalls.wasm;
--- config
    location /t {
        proxy_wasm hostcalls '{"on_request_headers": [{"op": "set_property", "path": ["filter_state", "tenant"], "value": "acme"}]}';
        proxy_wasm hostcalls '{"on_request_headers": [{"op": "get_property", "path": ["filter_state", "tenant"]}]}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "up\n";
    }
--- request
GET /t
--- response_body
up
--- grep_error_log eval: qr/(?:get|set)_property [^,]*/
--- grep_error_log_out
set_property filter_state.tenant "acme" -> Ok
get_property filter_state.tenant -> Ok "acme"
--- no_error_log
[error]
[alert]
[crit]



=== TEST 3: filter state a plugin writes to a declared variable is what nginx sees ($proxy_wasm_filter_state_user in a response header)
--- http_config
    wasm_plugin hostcalls ../../t/plugins/hostcalls.wasm;
--- config
    location /t {
        set $proxy_wasm_filter_state_user "";
        proxy_wasm hostcalls '{"on_request_headers": [{"op": "set_property", "path": ["filter_state", "user"], "value": "ada"}]}';
        add_header X-User "user=$proxy_wasm_filter_state_user";
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "up\n";
    }
--- request
GET /t
--- response_headers
X-User: user=ada
--- response_body
up
--- no_error_log
[error]
[alert]
[crit]



=== TEST 4: plugin_root_id is what root_id= names (a runtime that registers root contexts by name finds its own), "" by default as on Envoy
--- http_config
    wasm_plugin named ../../t/plugins/hostcalls.wasm root_id=gateway;
    wasm_plugin unnamed ../../t/plugins/hostcalls.wasm;
--- config
    location /t {
        proxy_wasm named '{"on_request_headers": [{"op": "get_property", "path": ["plugin_root_id"]}]}';
        proxy_wasm unnamed '{"on_request_headers": [{"op": "get_property", "path": ["plugin_root_id"]}]}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "up\n";
    }
--- request
GET /t
--- response_body
up
--- grep_error_log eval: qr/get_property plugin_root_id [^,]*/
--- grep_error_log_out
get_property plugin_root_id -> Ok "gateway"
get_property plugin_root_id -> Ok ""
--- no_error_log
[error]
[alert]
[crit]
