# State shared by all workers: shared data with CAS, shared queues with proxy_on_queue_ready, metrics (with the
# Prometheus endpoint) and ticks, with two workers. Plugins run through directives and through the Lua API; Lua
# reads and writes the same shared data and metrics. Plugin: t/plugins/shared_state.
use Test::Nginx::Socket::Lua 'no_plan';

master_on();
workers(2);
log_level('info');
no_shuffle();
run_tests();

__DATA__

=== TEST 1: tick-driven producers and queue consumers in both workers exchange every item exactly once
--- http_config
    lua_package_path "lua/?.lua;;";
    wasm_plugin shared_state ../../t/plugins/shared_state.wasm;
--- config
    location /consumer {
        proxy_wasm shared_state '{"consume": {"queue": "jobs", "metric": "consumed_total", "seen_prefix": "seen:"}}';
        return 204;
    }
    location /producer {
        proxy_wasm shared_state '{"produce": {"queue": "jobs", "period": 1, "items": 200, "seq_key": "produced"}}';
        return 204;
    }
    location /metrics {
        proxy_wasm_metrics;
    }
    location /t {
        content_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            for _ = 1, 500 do
                if wasm.get_metric("consumed_total") == 200 then
                    break
                end
                ngx.sleep(0.01)
            end
            ngx.sleep(0.05) -- anything consumed twice would show now
            local seen = 0
            for i = 1, 200 do
                if wasm.get_shared_data("seen:" .. i) == "1" then
                    seen = seen + 1
                end
            end
            ngx.say("consumed ", wasm.get_metric("consumed_total"), ", each once: ", seen)
            ngx.print(ngx.location.capture("/metrics").body)
        }
    }
--- request
GET /t
--- response_body
consumed 200, each once: 200
# TYPE consumed_total counter
consumed_total 200
--- grep_error_log eval: qr/shared_state: producer done/
--- grep_error_log_out
shared_state: producer done
shared_state: producer done
--- no_error_log
dequeued
[error]
[alert]
[crit]



=== TEST 2: requests counted in shared data and in a counter, the same totals through Lua and Prometheus
--- http_config
    lua_package_path "lua/?.lua;;";
    wasm_plugin shared_state ../../t/plugins/shared_state.wasm;
--- config
    location /count {
        proxy_wasm shared_state '{"count": {"key": "requests", "metric": "requests_total"}}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/ok;
    }
    location = /ok {
        return 200 "ok\n";
    }
    location /metrics {
        proxy_wasm_metrics;
    }
    location /report {
        content_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            ngx.say("shared data ", (wasm.get_shared_data("requests")), ", counter ", wasm.get_metric("requests_total"))
        }
    }
--- request eval
[("GET /count") x 12, "GET /report", "GET /metrics"]
--- response_body eval
[("ok\n") x 12, "shared data 12, counter 12\n", "# TYPE requests_total counter\nrequests_total 12\n"]
--- response_headers eval
[("") x 13, "Content-Type: text/plain; version=0.0.4"]
--- no_error_log
[error]
[alert]
[crit]



=== TEST 3: Lua writes shared data the plugin reads and updates; cas protocol and refusals from Lua
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("shared_state", "t/plugins/shared_state.wasm"))
        package.loaded.ctx = assert(wasm.on_configure(plugin, '{"count": {"key": "hits", "metric": "hits_total"}}'))
    }
--- config
    location /t {
        content_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            assert(wasm.set_shared_data("hits", "41"))
            assert(wasm.on_http_request_headers(package.loaded.ctx))
            local v, cas = wasm.get_shared_data("hits")
            ngx.say("after the plugin: ", v, " cas is a number: ", type(cas) == "number")
            ngx.say("stale cas: ", tostring(wasm.set_shared_data("hits", "0", cas + 1)))
            ngx.say("current cas: ", tostring(wasm.set_shared_data("hits", "7", cas)))
            ngx.say("now: ", (wasm.get_shared_data("hits")))
            ngx.say("absent: ", tostring(wasm.get_shared_data("nothing")))
            ngx.say("delete: ", tostring(wasm.delete_shared_data("hits")), " ", tostring(wasm.delete_shared_data("hits")))
            ngx.say("bad key: ", select(2, wasm.get_shared_data(1)))
            ngx.say("bad value: ", select(2, wasm.set_shared_data("k", {})))
            ngx.say("unknown metric: ", select(2, wasm.get_metric("nope")))
            ngx.say("counter: ", wasm.get_metric("hits_total"))
        }
    }
--- request
GET /t
--- response_body
after the plugin: 42 cas is a number: true
stale cas: false
current cas: true
now: 7
absent: nil
delete: true false
bad key: bad key
bad value: bad value
unknown metric: not found
counter: 1
--- error_log
shared_state: count 42
--- no_error_log
[error]
[alert]
[crit]



=== TEST 4: plugin contexts created from Lua tick and consume too
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local wasm = require("resty.proxy-wasm")
        local plugin = assert(wasm.load("shared_state", "t/plugins/shared_state.wasm"))
        package.loaded.consumer = assert(wasm.on_configure(plugin, '{"consume": {"queue": "q", "metric": "got", "seen_prefix": "s"}}'))
        package.loaded.producer = assert(wasm.on_configure(plugin, '{"produce": {"queue": "q", "period": 2, "items": 50, "seq_key": "n"}}'))
    }
--- config
    location /t {
        content_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            for _ = 1, 500 do
                if wasm.get_metric("got") == 50 then
                    break
                end
                ngx.sleep(0.01)
            end
            ngx.say("got ", wasm.get_metric("got"))
        }
    }
--- request
GET /t
--- response_body
got 50
--- no_error_log
dequeued
[error]
[alert]
[crit]



=== TEST 5: a full shared memory refuses a value with a clear error, and keeps what it holds
--- http_config
    lua_package_path "lua/?.lua;;";
    proxy_wasm_shared_memory 256k;
--- config
    location /t {
        content_by_lua_block {
            local wasm = require("resty.proxy-wasm")
            assert(wasm.set_shared_data("small", "kept"))
            ngx.say(select(2, wasm.set_shared_data("big", string.rep("x", 300 * 1024))))
            ngx.say((wasm.get_shared_data("small")))
        }
    }
--- request
GET /t
--- response_body
failed to set shared data
kept
--- error_log
proxy-wasm: shared data set: the shared memory is full
