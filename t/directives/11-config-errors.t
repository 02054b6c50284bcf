# Configuration errors of the directive path are reported by nginx at startup (nginx -t), with file and line.
use Test::Nginx::Socket 'no_plan';

log_level('info');
no_shuffle();
run_tests();

__DATA__

=== TEST 1: a missing plugin file
--- http_config
    wasm_plugin missing ../../t/plugins/does-not-exist.wasm;
--- config
    location /t { return 200; }
--- must_die
--- error_log eval
qr/\[emerg\] .*wasm plugin "missing": cannot read ".*t\/plugins\/does-not-exist.wasm": No such file or directory .*in .*nginx.conf:\d+/



=== TEST 2: a file that is not wasm
--- http_config
    wasm_plugin notwasm ../../t/00-module.t;
--- config
    location /t { return 200; }
--- must_die
--- error_log eval
qr/\[emerg\] .*wasm plugin "notwasm": ".*t\/00-module.t": not a WebAssembly module in .*nginx.conf:\d+/



=== TEST 3: a wasm module without the Proxy-Wasm ABI marker
--- http_config
    wasm_plugin nomarker html/nomarker.wat;
--- config
    location /t { return 200; }
--- user_files
>>> nomarker.wat
(module (memory (export "memory") 1))
--- must_die
--- error_log eval
qr/\[emerg\] .*wasm plugin "nomarker": .*not a Proxy-Wasm plugin in .*nginx.conf:\d+/



=== TEST 4: a plugin importing a host function that does not exist
--- http_config
    wasm_plugin teleport html/teleport.wat;
--- config
    location /t { return 200; }
--- user_files
>>> teleport.wat
(module
  (import "env" "proxy_teleport" (func (param i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_memory_allocate") (param i32) (result i32) i32.const 1024)
  (func (export "proxy_on_context_create") (param i32 i32)))
--- must_die
--- error_log eval
qr/\[emerg\] .*wasm plugin "teleport": .*proxy_teleport.* in .*nginx.conf:\d+/



=== TEST 5: an undeclared plugin name
--- config
    location /t {
        proxy_wasm nobody '{}';
        return 200;
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*unknown wasm plugin "nobody": declare it with "wasm_plugin nobody <path>;" in http\{\} first in .*nginx.conf:\d+/



=== TEST 6: a configuration the plugin refuses
--- http_config
    wasm_plugin fault_injection ../../t/plugins/fault_injection.wasm;
--- config
    location /t {
        proxy_wasm fault_injection '{"http_status":100}';
        return 200;
    }
--- must_die
--- error_log eval
[qr/wasm plugin "fault_injection": fault injection: bad http_status 100: must be at least 200/,
 qr/\[emerg\] .*wasm plugin "fault_injection" refused its configuration: proxy_on_configure returned failure in .*nginx.conf:\d+/]



=== TEST 7: a bad proxy_wasm_failure value
--- config
    location /t {
        proxy_wasm_failure maybe;
        return 200;
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*invalid value "maybe" in "proxy_wasm_failure": use "closed" or "open" in .*nginx.conf:\d+/



=== TEST 8: a plugin declared twice
--- http_config
    wasm_plugin fault_injection ../../t/plugins/fault_injection.wasm;
    wasm_plugin fault_injection ../../t/plugins/fault_injection.wasm;
--- config
    location /t { return 200; }
--- must_die
--- error_log eval
qr/\[emerg\] .*wasm plugin "fault_injection" is already declared in .*nginx.conf:\d+/
