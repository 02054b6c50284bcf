# wasm_gateway (lua/wasm_gateway.lua) reading YAML in the shapes of the APISIX Wasm announcement: config.yaml's
# `wasm: plugins: [{name, priority, file}]` (gw.configure_file) and the routes, one per YAML document, with the
# Wasm plugin's conf as a string (gw.set_routes_file). The article's text is used as it is printed (its
# `apisix:` section with the elision "...", its route documents); only the .wasm path is this repository's. Then
# priority order from YAML, the demo's own YAML files, bad YAML and wrong shapes refused with a clear message.
# The YAML files are written by user_files into the servroot's html/ directory; Wasm paths there are resolved
# against the working directory (opts.base = "."), as APISIX resolves them against its home directory.
use Test::Nginx::Socket::Lua 'no_plan';

log_level('info');
no_shuffle();
no_root_location();
run_tests();

__DATA__

=== TEST 1: the article's config.yaml and route documents: Wasm fault injection answers with the conf string's status and body, the Lua one with its abort
--- http_config
    lua_package_path "lua/?.lua;;";
    init_by_lua_block {
        local gw = require("wasm_gateway")
        local html = ngx.config.prefix() .. "html/"
        assert(gw.configure_file(html .. "config.yaml", { base = "." }))
        assert(gw.set_routes_file(html .. "routes.yaml"))
    }
--- config
    location / {
        rewrite_by_lua_block { require("wasm_gateway").rewrite() }
        access_by_lua_block { require("wasm_gateway").access() }
        header_filter_by_lua_block { require("wasm_gateway").header_filter() }
        body_filter_by_lua_block { require("wasm_gateway").body_filter() }
        content_by_lua_block { ngx.say("upstream") }
    }
--- user_files
>>> config.yaml
apisix:
        ...
plugins:
  - fault-injection
wasm:
    plugins:
        - name: wasm_fault_injection
          priority: 7997
          file: t/plugins/fault_injection.wasm
>>> routes.yaml
---
uri: "/wasm"
plugins:
  wasm_fault_injection:
    conf: '{"body":"hello world", "http_status":200}'
upstream:
  type: roundrobin
  nodes:
    127.0.0.1:1980: 1
---
plugins:
  fault-injection:
    abort:
      body: hello world
      http_status: 200
upstream:
  nodes:
    127.0.0.1:1980: 1
  type: roundrobin
uri: /fault-injection
---
uri: "/wasm-403"
plugins:
  wasm_fault_injection:
    conf: '{"body":"blocked by wasm\n", "http_status":403}'
upstream:
  type: roundrobin
  nodes:
    127.0.0.1:1980: 1
--- request eval
["GET /wasm", "GET /fault-injection", "GET /wasm-403", "GET /nowhere"]
--- error_code eval
[200, 200, 403, 404]
--- response_body eval
["hello world", "hello world", "blocked by wasm\n", "{\"error_msg\":\"404 Route Not Found\"}\n"]
--- no_error_log
[error]
[alert]
[crit]



=== TEST 2: the article's three route documents with skip_bad: /ext-plugin (no external plugin runner here) is left out with a log line, the others answer
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local gw = require("wasm_gateway")
        local html = ngx.config.prefix() .. "html/"
        assert(gw.configure_file(html .. "config.yaml", { base = "." }))
        assert(gw.set_routes_file(html .. "routes.yaml", { skip_bad = true }))
    }
--- config
    location / {
        rewrite_by_lua_block { require("wasm_gateway").rewrite() }
        access_by_lua_block { require("wasm_gateway").access() }
        header_filter_by_lua_block { require("wasm_gateway").header_filter() }
        body_filter_by_lua_block { require("wasm_gateway").body_filter() }
        content_by_lua_block { ngx.say("upstream") }
    }
--- user_files
>>> config.yaml
plugins:
  - fault-injection
wasm:
    plugins:
        - name: wasm_fault_injection
          priority: 7997
          file: t/plugins/fault_injection.wasm
>>> routes.yaml
---
uri: "/wasm"
plugins:
  wasm_fault_injection:
    conf: '{"body":"hello world", "http_status":200}'
upstream:
  type: roundrobin
  nodes:
    127.0.0.1:1980: 1
---
plugins:
  ext-plugin-pre-req:
    conf:
    - name: fault-injection
      value: '{"body":"hello world", "http_status":200}'
upstream:
  nodes:
    127.0.0.1:1980: 1
  type: roundrobin
uri: /ext-plugin
---
plugins:
  fault-injection:
    abort:
      body: hello world
      http_status: 200
upstream:
  nodes:
    127.0.0.1:1980: 1
  type: roundrobin
uri: /fault-injection
--- request
GET /fault-injection
--- response_body chomp
hello world
--- error_log
wasm_gateway: route left out: route "/ext-plugin": unknown plugin "ext-plugin-pre-req"
--- no_error_log
[alert]
[crit]



=== TEST 3: priority from config.yaml sorts each route's plugins, not the declaration order nor the names
--- http_config
    lua_package_path "lua/?.lua;;";
    init_by_lua_block {
        local gw = require("wasm_gateway")
        local html = ngx.config.prefix() .. "html/"
        assert(gw.configure_file(html .. "config.yaml", { base = "." }))
        assert(gw.set_routes_file(html .. "routes.yml"))
    }
--- config
    location = /names {
        content_by_lua_block {
            for _, r in ipairs(require("wasm_gateway").routes()) do
                ngx.say(r.uri, ": ", table.concat(r.plugin_names, " "))
            end
        }
    }
    location / {
        rewrite_by_lua_block { require("wasm_gateway").rewrite() }
        access_by_lua_block { require("wasm_gateway").access() }
        header_filter_by_lua_block { require("wasm_gateway").header_filter() }
        body_filter_by_lua_block { require("wasm_gateway").body_filter() }
        content_by_lua_block { ngx.say("upstream") }
    }
--- user_files
>>> config.yaml
wasm:
    plugins:
        - name: a_low
          priority: 100
          file: t/plugins/hostcalls.wasm
        - name: m_mid
          priority: 200
          file: t/plugins/fault_injection.wasm
        - name: z_high
          priority: 300
          file: t/plugins/hostcalls.wasm
>>> routes.yml
---
uri: /all
plugins:
  a_low:
    conf: '{}'
  z_high:
    conf: '{}'
---
uri: /answered
plugins:
  a_low:
    conf: '{}'
  m_mid:
    conf: '{"body":"m_mid answered\n", "http_status":201}'
  z_high:
    conf: '{}'
--- request
GET /names
--- response_body
/all: z_high a_low
/answered: z_high m_mid a_low
--- no_error_log
[error]
[alert]
[crit]



=== TEST 4: the plugins run in that order: z_high (300) before a_low (100), then the upstream answers
--- http_config
    lua_package_path "lua/?.lua;;";
    init_by_lua_block {
        local gw = require("wasm_gateway")
        local html = ngx.config.prefix() .. "html/"
        assert(gw.configure_file(html .. "config.yaml", { base = "." }))
        assert(gw.set_routes_file(html .. "routes.yml"))
    }
--- config
    location = /names {
        content_by_lua_block {
            for _, r in ipairs(require("wasm_gateway").routes()) do
                ngx.say(r.uri, ": ", table.concat(r.plugin_names, " "))
            end
        }
    }
    location / {
        rewrite_by_lua_block { require("wasm_gateway").rewrite() }
        access_by_lua_block { require("wasm_gateway").access() }
        header_filter_by_lua_block { require("wasm_gateway").header_filter() }
        body_filter_by_lua_block { require("wasm_gateway").body_filter() }
        content_by_lua_block { ngx.say("upstream") }
    }
--- user_files
>>> config.yaml
wasm:
    plugins:
        - name: a_low
          priority: 100
          file: t/plugins/hostcalls.wasm
        - name: m_mid
          priority: 200
          file: t/plugins/fault_injection.wasm
        - name: z_high
          priority: 300
          file: t/plugins/hostcalls.wasm
>>> routes.yml
---
uri: /all
plugins:
  a_low:
    conf: '{}'
  z_high:
    conf: '{}'
---
uri: /answered
plugins:
  a_low:
    conf: '{}'
  m_mid:
    conf: '{"body":"m_mid answered\n", "http_status":201}'
  z_high:
    conf: '{}'
--- request
GET /all
--- response_body
upstream
--- grep_error_log eval: qr/wasm plugin "\w+": hostcalls: on_request_headers/
--- grep_error_log_out
wasm plugin "z_high": hostcalls: on_request_headers
wasm plugin "a_low": hostcalls: on_request_headers
--- no_error_log
[error]
[alert]
[crit]



=== TEST 5: the first plugin that answers ends the request: z_high runs, m_mid (200) answers with its conf string, a_low never sees the request
--- http_config
    lua_package_path "lua/?.lua;;";
    init_by_lua_block {
        local gw = require("wasm_gateway")
        local html = ngx.config.prefix() .. "html/"
        assert(gw.configure_file(html .. "config.yaml", { base = "." }))
        assert(gw.set_routes_file(html .. "routes.yml"))
    }
--- config
    location = /names {
        content_by_lua_block {
            for _, r in ipairs(require("wasm_gateway").routes()) do
                ngx.say(r.uri, ": ", table.concat(r.plugin_names, " "))
            end
        }
    }
    location / {
        rewrite_by_lua_block { require("wasm_gateway").rewrite() }
        access_by_lua_block { require("wasm_gateway").access() }
        header_filter_by_lua_block { require("wasm_gateway").header_filter() }
        body_filter_by_lua_block { require("wasm_gateway").body_filter() }
        content_by_lua_block { ngx.say("upstream") }
    }
--- user_files
>>> config.yaml
wasm:
    plugins:
        - name: a_low
          priority: 100
          file: t/plugins/hostcalls.wasm
        - name: m_mid
          priority: 200
          file: t/plugins/fault_injection.wasm
        - name: z_high
          priority: 300
          file: t/plugins/hostcalls.wasm
>>> routes.yml
---
uri: /all
plugins:
  a_low:
    conf: '{}'
  z_high:
    conf: '{}'
---
uri: /answered
plugins:
  a_low:
    conf: '{}'
  m_mid:
    conf: '{"body":"m_mid answered\n", "http_status":201}'
  z_high:
    conf: '{}'
--- request
GET /answered
--- error_code: 201
--- response_body
m_mid answered
--- grep_error_log eval: qr/wasm plugin "\w+": hostcalls: on_request_headers/
--- grep_error_log_out
wasm plugin "z_high": hostcalls: on_request_headers
--- no_error_log
[error]
[alert]
[crit]



=== TEST 6: the demo's own YAML (nginx-conf/config.yaml, nginx-conf/routes.yaml): Wasm files relative to the file, every route answers
--- http_config
    lua_package_path "lua/?.lua;;";
    init_by_lua_block {
        local gw = require("wasm_gateway")
        assert(gw.configure_file("nginx-conf/config.yaml"))
        assert(gw.set_routes_file("nginx-conf/routes.yaml"))
    }
--- config
    location / {
        rewrite_by_lua_block { require("wasm_gateway").rewrite() }
        access_by_lua_block { require("wasm_gateway").access() }
        header_filter_by_lua_block { require("wasm_gateway").header_filter() }
        body_filter_by_lua_block { require("wasm_gateway").body_filter() }
        content_by_lua_block { ngx.say("upstream") }
    }
--- request eval
["GET /wasm", "GET /fault-injection", "GET /wasm-as", "GET /wasm-c", "GET /wasm-403", "GET /mixed/x", "GET /nowhere"]
--- error_code eval
[200, 200, 200, 200, 403, 200, 404]
--- response_body_like eval
["^hello world\$", "^hello world\$", "^hello world\$", "^hello world\$", "^blocked by wasm\n\$", "^(?:lua|wasm) answered\n\$", "404 Route Not Found"]
--- no_error_log
[error]
[alert]
[crit]



=== TEST 7: a bad YAML file is refused: one log line names the file, the position and libyaml's reason; no route is served
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local gw = require("wasm_gateway")
        local html = ngx.config.prefix() .. "html/"
        local ok, err = gw.configure_file(html .. "config.yaml", { base = "." })
        if ok then
            ok, err = gw.set_routes_file(html .. "routes.yaml")
        end
        if not ok then
            ngx.log(ngx.ERR, "wasm_gateway: ", err)
        end
    }
--- config
    location / {
        rewrite_by_lua_block { require("wasm_gateway").rewrite() }
        access_by_lua_block { require("wasm_gateway").access() }
        header_filter_by_lua_block { require("wasm_gateway").header_filter() }
        body_filter_by_lua_block { require("wasm_gateway").body_filter() }
        content_by_lua_block { ngx.say("upstream") }
    }
--- user_files
>>> config.yaml
wasm:
    plugins:
        - name: wasm_fault_injection
         priority: 7997
          file: t/plugins/fault_injection.wasm
>>> routes.yaml
---
uri: "/wasm"
plugins:
  wasm_fault_injection:
    conf: '{"body":"hello world", "http_status":200}'
--- request
GET /wasm
--- error_code: 404
--- response_body
{"error_msg":"404 Route Not Found"}
--- error_log eval
qr{\[error\] .*wasm_gateway: /\S+/html/config\.yaml: bad YAML: line 4, column 10: did not find expected '-' indicator \(while parsing a block collection at line 3, column 9\)}
--- no_error_log
[alert]
[crit]
wasm plugin "wasm_fault_injection"



=== TEST 8: a YAML file of the wrong shape (a Wasm plugin without file) is refused: one log line names the file, the plugin and the field
--- http_config
    lua_package_path "lua/?.lua;;";
    init_worker_by_lua_block {
        local gw = require("wasm_gateway")
        local html = ngx.config.prefix() .. "html/"
        local ok, err = gw.configure_file(html .. "config.yaml", { base = "." })
        if ok then
            ok, err = gw.set_routes_file(html .. "routes.yaml")
        end
        if not ok then
            ngx.log(ngx.ERR, "wasm_gateway: ", err)
        end
    }
--- config
    location / {
        rewrite_by_lua_block { require("wasm_gateway").rewrite() }
        access_by_lua_block { require("wasm_gateway").access() }
        header_filter_by_lua_block { require("wasm_gateway").header_filter() }
        body_filter_by_lua_block { require("wasm_gateway").body_filter() }
        content_by_lua_block { ngx.say("upstream") }
    }
--- user_files
>>> config.yaml
wasm:
    plugins:
        - name: wasm_fault_injection
          priority: 7997
>>> routes.yaml
---
uri: "/wasm"
plugins:
  wasm_fault_injection:
    conf: '{"body":"hello world", "http_status":200}'
--- request
GET /wasm
--- error_code: 404
--- response_body
{"error_msg":"404 Route Not Found"}
--- error_log eval
qr{\[error\] .*wasm_gateway: /\S+/html/config\.yaml: wasm plugin "wasm_fault_injection": file must be a non-empty string}
--- no_error_log
[alert]
[crit]



=== TEST 9: every wrong shape and bad file is refused with its own message (returned, not logged); JSON still read
--- http_config
    lua_package_path "lua/?.lua;;";
--- config
    location /t {
        content_by_lua_block {
            local gw = require("wasm_gateway")
            local html = ngx.config.prefix() .. "html/"
            local function try(f, name)
                local ok, err = f(html .. name, { base = "." })
                ngx.say(name, ": ", tostring(ok), " ", (tostring(err):gsub("^/%S+/html/", "")))
            end
            for _, name in ipairs({ "no-file.yaml", "plugins-map.yaml", "priority-string.yaml", "tab.yaml",
                                    "two-docs.yaml", "list.yaml", "empty.yaml", "null-file.yaml", "bad-alias.yaml",
                                    "nothing.yaml", "ok.json", "ok.yaml" }) do
                try(gw.configure_file, name)
            end
            for _, name in ipairs({ "no-conf.yaml", "conf-null.yaml", "uri.yaml", "scalar.yaml", "routes-list.yaml",
                                    "routes.json", "routes-object.json" }) do
                try(gw.set_routes_file, name)
            end
            for _, r in ipairs(gw.routes()) do
                ngx.say("route ", r.id, ": ", table.concat(r.plugin_names, " "))
            end
        }
    }
--- user_files
>>> no-file.yaml
wasm:
    plugins:
        - name: w1
          priority: 1
>>> plugins-map.yaml
wasm:
    plugins:
        name: w1
        priority: 1
        file: t/plugins/fault_injection.wasm
>>> priority-string.yaml
wasm:
    plugins:
        - name: w1
          priority: "high"
          file: t/plugins/fault_injection.wasm
>>> tab.yaml
wasm:
	plugins: []
>>> two-docs.yaml
---
wasm:
    plugins: []
---
plugins: []
>>> list.yaml
- name: w1
  priority: 1
  file: t/plugins/fault_injection.wasm
>>> empty.yaml
>>> null-file.yaml
wasm:
    plugins:
        - name: w1
          priority: 1
          file: ~
>>> bad-alias.yaml
wasm: *nowhere
>>> ok.json
{ "wasm": { "plugins": [ { "name": "w_json", "priority": 2, "file": "t/plugins/fault_injection.wasm" } ] } }
>>> ok.yaml
wasm:
    plugins:
        - name: w_yaml
          priority: 1
          file: t/plugins/fault_injection.wasm
>>> no-conf.yaml
uri: /a
plugins:
  w_yaml: {}
>>> conf-null.yaml
uri: /a
plugins:
  w_yaml:
    conf:
>>> uri.yaml
uri: a
>>> scalar.yaml
"/wasm"
>>> routes-list.yaml
- uri: /one
  plugins:
    w_yaml:
      conf: '{"http_status":200}'
- uri: /two
---
---
uri: /three
plugins:
  w_json:
    conf: '{"http_status":200}'
>>> routes.json
[ { "uri": "/json", "plugins": { "w_json": { "conf": "{\"http_status\":200}" } } } ]
>>> routes-object.json
{ "uri": "/json" }
--- request
GET /t
--- response_body
no-file.yaml: nil no-file.yaml: wasm plugin "w1": file must be a non-empty string
plugins-map.yaml: nil plugins-map.yaml: "wasm" must be an object with a "plugins" array
priority-string.yaml: nil priority-string.yaml: wasm plugin "w1": priority must be an integer
tab.yaml: nil tab.yaml: bad YAML: line 2, column 1: found character that cannot start any token (while scanning for the next token at line 2, column 1)
two-docs.yaml: nil two-docs.yaml: expected one YAML document (the shape of APISIX's config.yaml), found 2
list.yaml: nil list.yaml: the YAML document must be a mapping (wasm:, plugins:, routes:)
empty.yaml: nil empty.yaml: expected one YAML document (the shape of APISIX's config.yaml), found 0
null-file.yaml: nil null-file.yaml: wasm plugin "w1": file must be a non-empty string
bad-alias.yaml: nil bad-alias.yaml: bad YAML: line 1, column 7: invalid reference: nowhere
nothing.yaml: nil nothing.yaml: No such file or directory
ok.json: true nil
ok.yaml: true nil
no-conf.yaml: nil no-conf.yaml: route "/a": plugin "w_yaml": "conf" is required
conf-null.yaml: nil conf-null.yaml: route "/a": plugin "w_yaml": "conf" is required
uri.yaml: nil uri.yaml: route #1: uri must be a string starting with "/"
scalar.yaml: nil scalar.yaml: route #1: must be an object
routes-list.yaml: true nil
routes.json: true nil
routes-object.json: nil routes-object.json: the routes must be a JSON array
route /json: w_json
--- no_error_log
[error]
[alert]
[crit]
