# The messages of the configuration errors the module refuses, as `nginx -t` prints them, with file and line.
# The directive-only suites (t/directives/11-config-errors.t, 13-limits.t, 14-shared-state.t) and t/00-module.t
# check with `--- must_die` that nginx refuses each of these configurations; they cannot check the message:
# Debian's nginx is built with --error-log-path=stderr, so a configuration error goes to stderr, and Test::Nginx's
# `--- error_log` checks of a must_die block read logs/error.log only. Here a request runs `nginx -t` on the same
# configuration (the module loaded alone, as on the directive path) through t/lib/nginx_t.lua and checks its output.
use Test::Nginx::Socket::Lua 'no_plan';

env_to_nginx("TEST_NGINX_BINARY", "TEST_NGINX_LOAD_MODULES", "TEST_NGINX_SERVER_ROOT");
log_level('info');
no_shuffle();
run_tests();

__DATA__

=== TEST 1: a missing plugin file (t/directives/11-config-errors.t TEST 1)
--- http_config
    lua_package_path "t/lib/?.lua;;";
--- config
    location /t {
        content_by_lua_block {
            ngx.print(require("nginx_t").check([[
http {
    wasm_plugin missing ../../t/plugins/does-not-exist.wasm;
}
]]))
        }
    }
--- request
GET /t
--- timeout: 20
--- response_body_like eval
qr/\[emerg\] .*wasm plugin "missing": cannot read ".*t\/plugins\/does-not-exist.wasm": No such file or directory .*in .*nginx.conf:\d+\n/
--- no_error_log
[error]
[alert]
[crit]




=== TEST 2: a file that is not wasm (t/directives/11-config-errors.t TEST 2)
--- http_config
    lua_package_path "t/lib/?.lua;;";
--- config
    location /t {
        content_by_lua_block {
            ngx.print(require("nginx_t").check([[
http {
    wasm_plugin notwasm ../../t/00-module.t;
}
]]))
        }
    }
--- request
GET /t
--- timeout: 20
--- response_body_like eval
qr/\[emerg\] .*wasm plugin "notwasm": ".*t\/00-module.t": not a WebAssembly module in .*nginx.conf:\d+\n/
--- no_error_log
[error]
[alert]
[crit]




=== TEST 3: a wasm module without the Proxy-Wasm ABI marker (t/directives/11-config-errors.t TEST 3)
--- http_config
    lua_package_path "t/lib/?.lua;;";
--- config
    location /t {
        content_by_lua_block {
            ngx.print(require("nginx_t").check([[
http {
    wasm_plugin nomarker html/nomarker.wat;
}
]]))
        }
    }
--- user_files
>>> nomarker.wat
(module (memory (export "memory") 1))
--- request
GET /t
--- timeout: 20
--- response_body_like eval
qr/\[emerg\] .*wasm plugin "nomarker": .*not a Proxy-Wasm plugin in .*nginx.conf:\d+\n/
--- no_error_log
[error]
[alert]
[crit]




=== TEST 4: a plugin importing a function that does not exist outside proxy_* (t/directives/11-config-errors.t TEST 4)
--- http_config
    lua_package_path "t/lib/?.lua;;";
--- config
    location /t {
        content_by_lua_block {
            ngx.print(require("nginx_t").check([[
http {
    wasm_plugin teleport html/teleport.wat;
}
]]))
        }
    }
--- user_files
>>> teleport.wat
(module
  (import "env" "teleport" (func (param i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_memory_allocate") (param i32) (result i32) i32.const 1024)
  (func (export "proxy_on_context_create") (param i32 i32)))
--- request
GET /t
--- timeout: 20
--- response_body_like eval
qr/\[emerg\] .*wasm plugin "teleport": .*env::teleport.* in .*nginx.conf:\d+\n/
--- no_error_log
[error]
[alert]
[crit]




=== TEST 5: an undeclared plugin name (t/directives/11-config-errors.t TEST 5)
--- http_config
    lua_package_path "t/lib/?.lua;;";
--- config
    location /t {
        content_by_lua_block {
            ngx.print(require("nginx_t").check([[
http {
    server {
        listen 127.0.0.1:$TEST_NGINX_SERVER_PORT;
        location /t {
            proxy_wasm nobody '{}';
            return 200;
        }
    }
}
]]))
        }
    }
--- request
GET /t
--- timeout: 20
--- response_body_like eval
qr/\[emerg\] .*unknown wasm plugin "nobody": declare it with "wasm_plugin nobody <path>;" in http\{\} first in .*nginx.conf:\d+\n/
--- no_error_log
[error]
[alert]
[crit]




=== TEST 6: a configuration the plugin refuses (t/directives/11-config-errors.t TEST 6)
--- http_config
    lua_package_path "t/lib/?.lua;;";
--- config
    location /t {
        content_by_lua_block {
            ngx.print(require("nginx_t").check([[
http {
    wasm_plugin fault_injection ../../t/plugins/fault_injection.wasm;
    server {
        listen 127.0.0.1:$TEST_NGINX_SERVER_PORT;
        location /t {
            proxy_wasm fault_injection '{"http_status":100}';
            return 200;
        }
    }
}
]]))
        }
    }
--- request
GET /t
--- timeout: 20
--- response_body_like eval
qr/\A(?=.*wasm plugin "fault_injection": fault injection: bad http_status 100: must be at least 200)(?=.*\[emerg\] .*wasm plugin "fault_injection" refused its configuration: proxy_on_configure returned failure in .*nginx.conf:\d+\n)/s
--- no_error_log
[error]
[alert]
[crit]




=== TEST 7: a bad proxy_wasm_failure value (t/directives/11-config-errors.t TEST 7)
--- http_config
    lua_package_path "t/lib/?.lua;;";
--- config
    location /t {
        content_by_lua_block {
            ngx.print(require("nginx_t").check([[
http {
    server {
        listen 127.0.0.1:$TEST_NGINX_SERVER_PORT;
        location /t {
            proxy_wasm_failure maybe;
            return 200;
        }
    }
}
]]))
        }
    }
--- request
GET /t
--- timeout: 20
--- response_body_like eval
qr/\[emerg\] .*invalid value "maybe" in "proxy_wasm_failure": use "closed" or "open" in .*nginx.conf:\d+\n/
--- no_error_log
[error]
[alert]
[crit]




=== TEST 8: a plugin declared twice (t/directives/11-config-errors.t TEST 8)
--- http_config
    lua_package_path "t/lib/?.lua;;";
--- config
    location /t {
        content_by_lua_block {
            ngx.print(require("nginx_t").check([[
http {
    wasm_plugin fault_injection ../../t/plugins/fault_injection.wasm;
    wasm_plugin fault_injection ../../t/plugins/fault_injection.wasm;
}
]]))
        }
    }
--- request
GET /t
--- timeout: 20
--- response_body_like eval
qr/\[emerg\] .*wasm plugin "fault_injection" is already declared in .*nginx.conf:\d+\n/
--- no_error_log
[error]
[alert]
[crit]




=== TEST 9: bad limits (t/directives/13-limits.t)
--- http_config
    lua_package_path "t/lib/?.lua;;";
--- config
    location /t {
        content_by_lua_block {
            ngx.print(require("nginx_t").check([[
http {
    wasm_plugin fault_injection ../../t/plugins/fault_injection.wasm time_limit=soon;
}
]]))
        }
    }
--- request
GET /t
--- timeout: 20
--- response_body_like eval
qr/\[emerg\] .*wasm plugin "fault_injection": invalid parameter "time_limit=soon" \(expected vm_config=, root_id=, time_limit=, memory_limit=\) in .*nginx.conf:\d+\n/
--- no_error_log
[error]
[alert]
[crit]




=== TEST 10: proxy_wasm_shared_memory: a bad size, with file and line (t/directives/14-shared-state.t)
--- http_config
    lua_package_path "t/lib/?.lua;;";
--- config
    location /t {
        content_by_lua_block {
            ngx.print(require("nginx_t").check([[
http {
    proxy_wasm_shared_memory 1x;
}
]]))
        }
    }
--- request
GET /t
--- timeout: 20
--- response_body_like eval
qr/\[emerg\] .*invalid proxy_wasm_shared_memory size "1x" in .*nginx\.conf:\d+\n/
--- no_error_log
[error]
[alert]
[crit]




=== TEST 11: proxy_wasm_shared_memory outside its bounds (t/directives/14-shared-state.t)
--- http_config
    lua_package_path "t/lib/?.lua;;";
--- config
    location /t {
        content_by_lua_block {
            ngx.print(require("nginx_t").check([[
http {
    proxy_wasm_shared_memory 64k;
}
]]))
        }
    }
--- request
GET /t
--- timeout: 20
--- response_body_like eval
qr/\[emerg\] .*proxy_wasm_shared_memory: shared memory size 65536 is outside 262144\.\.=1073741824 bytes/
--- no_error_log
[error]
[alert]
[crit]




=== TEST 12: proxy_wasm_metrics takes no argument (t/directives/14-shared-state.t)
--- http_config
    lua_package_path "t/lib/?.lua;;";
--- config
    location /t {
        content_by_lua_block {
            ngx.print(require("nginx_t").check([[
http {
    server {
        listen 127.0.0.1:$TEST_NGINX_SERVER_PORT;
        location /m {
            proxy_wasm_metrics on;
        }
    }
}
]]))
        }
    }
--- request
GET /t
--- timeout: 20
--- response_body_like eval
qr/\[emerg\] .*invalid number of arguments in "proxy_wasm_metrics" directive/
--- no_error_log
[error]
[alert]
[crit]




=== TEST 13: any other VM than wasmtime (t/00-module.t)
--- http_config
    lua_package_path "t/lib/?.lua;;";
--- config
    location /t {
        content_by_lua_block {
            ngx.print(require("nginx_t").check([[
http {
    wasm_vm v8;
}
]]))
        }
    }
--- request
GET /t
--- timeout: 20
--- response_body_like eval
qr/\[emerg\] .*unsupported wasm_vm "v8": this module runs plugins on "wasmtime" only in .*nginx\.conf:\d+\n/
--- no_error_log
[error]
[alert]
[crit]




=== TEST 14: two call locations in one server (t/directives/21-http-call-upstreams.t TEST 8)
--- http_config
    lua_package_path "t/lib/?.lua;;";
--- config
    location /t {
        content_by_lua_block {
            ngx.print(require("nginx_t").check([[
http {
    server {
        listen 127.0.0.1:1;
        location /a {
            proxy_wasm_http_calls;
            proxy_pass $proxy_wasm_call_url;
        }
        location /b {
            proxy_wasm_http_calls;
            proxy_pass $proxy_wasm_call_url;
        }
    }
}
]]))
        }
    }
--- request
GET /t
--- timeout: 20
--- response_body_like eval
qr/\[emerg\] .*"proxy_wasm_http_calls" directive is duplicate: one location per server performs the calls in .*nginx\.conf:\d+\n/
--- no_error_log
[error]
[alert]
[crit]




=== TEST 15: a service of an undeclared plugin (t/directives/22-services.t TEST 4)
--- http_config
    lua_package_path "t/lib/?.lua;;";
--- config
    location /t {
        content_by_lua_block {
            ngx.print(require("nginx_t").check([[
http {
    proxy_wasm_service nothing;
}
]]))
        }
    }
--- request
GET /t
--- timeout: 20
--- response_body_like eval
qr/\[emerg\] .*unknown wasm plugin "nothing": declare it with "wasm_plugin nothing <path>;" first in .*nginx\.conf:\d+\n/
--- no_error_log
[error]
[alert]
[crit]




=== TEST 16: a service with a third argument other than "singleton" (t/directives/22-services.t TEST 4)
--- http_config
    lua_package_path "t/lib/?.lua;;";
--- config
    location /t {
        content_by_lua_block {
            ngx.print(require("nginx_t").check([[
http {
    wasm_plugin hostcalls ../../t/plugins/hostcalls.wasm;
    proxy_wasm_service hostcalls '{}' once;
}
]]))
        }
    }
--- request
GET /t
--- timeout: 20
--- response_body_like eval
qr/\[emerg\] .*invalid parameter "once" in "proxy_wasm_service": only "singleton" may follow the configuration in .*nginx\.conf:\d+\n/
--- no_error_log
[error]
[alert]
[crit]
