-- Test helper: run `nginx -t` on a configuration and return what nginx printed.
--
-- Debian's nginx writes configuration errors to stderr (it is built with
-- --error-log-path=stderr), which a Test::Nginx `--- must_die` block does not see: its
-- `--- error_log` checks read logs/error.log only. A block that checks the message sends a
-- request whose handler calls nginx_t.check(conf) and matches the response body.
--
-- The configuration given is the main context after `events {}`; the module under test is
-- loaded first (the path in TEST_NGINX_LOAD_MODULES that names proxy_wasm, alone: the
-- directive path without Lua). It is written to <servroot>/html/t-nginx.conf and checked with
-- the servroot as prefix, so relative paths resolve as in the block's own nginx.conf. Needs
-- env_to_nginx("TEST_NGINX_BINARY", "TEST_NGINX_LOAD_MODULES", "TEST_NGINX_SERVER_ROOT").
local _M = {}

function _M.check(conf)
    local prefix = assert(os.getenv("TEST_NGINX_SERVER_ROOT"), "TEST_NGINX_SERVER_ROOT") .. "/"
    local binary = os.getenv("TEST_NGINX_BINARY") or "nginx"
    local module
    for path in (os.getenv("TEST_NGINX_LOAD_MODULES") or ""):gmatch("%S+") do
        if path:find("proxy_wasm", 1, true) then
            module = path
        end
    end
    local file = prefix .. "html/t-nginx.conf"
    local out = assert(io.open(file, "w"))
    if module then
        out:write("load_module ", module, ";\n")
    end
    out:write("pid ", prefix, "logs/t-nginx.pid;\n", "events {}\n", conf)
    out:close()
    local p = assert(io.popen(binary .. " -t -p " .. prefix .. " -c " .. file .. " 2>&1; echo exit=$?"))
    local printed = p:read("*a")
    p:close()
    return printed
end

return _M
