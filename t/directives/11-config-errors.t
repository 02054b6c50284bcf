# Configuration errors of the directive path: nginx refuses to start. The messages (with file and line) are checked
# by t/37-config-errors.t through `nginx -t`: Debian's nginx prints configuration errors on stderr, which the
# `--- error_log` checks of a `--- must_die` block do not read (they read logs/error.log only).
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



=== TEST 2: a file that is not wasm
--- http_config
    wasm_plugin notwasm ../../t/00-module.t;
--- config
    location /t { return 200; }
--- must_die



=== TEST 3: a wasm module without the Proxy-Wasm ABI marker
--- http_config
    wasm_plugin nomarker html/nomarker.wat;
--- config
    location /t { return 200; }
--- user_files
>>> nomarker.wat
(module (memory (export "memory") 1))
--- must_die



=== TEST 4: a plugin importing a function that does not exist outside proxy_* (unknown proxy_* imports are stubs)
--- http_config
    wasm_plugin teleport html/teleport.wat;
--- config
    location /t { return 200; }
--- user_files
>>> teleport.wat
(module
  (import "env" "teleport" (func (param i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_memory_allocate") (param i32) (result i32) i32.const 1024)
  (func (export "proxy_on_context_create") (param i32 i32)))
--- must_die



=== TEST 5: an undeclared plugin name
--- config
    location /t {
        proxy_wasm nobody '{}';
        return 200;
    }
--- must_die



=== TEST 6: a configuration the plugin refuses
--- http_config
    wasm_plugin fault_injection ../../t/plugins/fault_injection.wasm;
--- config
    location /t {
        proxy_wasm fault_injection '{"http_status":100}';
        return 200;
    }
--- must_die



=== TEST 7: a bad proxy_wasm_failure value
--- config
    location /t {
        proxy_wasm_failure maybe;
        return 200;
    }
--- must_die



=== TEST 8: a plugin declared twice
--- http_config
    wasm_plugin fault_injection ../../t/plugins/fault_injection.wasm;
    wasm_plugin fault_injection ../../t/plugins/fault_injection.wasm;
--- config
    location /t { return 200; }
--- must_die
