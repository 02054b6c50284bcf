-- Access handler of the demo routes: run the fault-injection plugin with the route's `$wasm_conf`.
-- The plugin ctx is created on first use per configuration and cached, as APISIX caches it on the route conf.
local wasm = require("resty.proxy-wasm")

local ctxs = package.loaded["demo.ctxs"]
if not ctxs then
    ctxs = {}
    package.loaded["demo.ctxs"] = ctxs
end

local conf = ngx.var.wasm_conf
local ctx = ctxs[conf]
if not ctx then
    local err
    ctx, err = wasm.on_configure(package.loaded["demo.plugin"], conf)
    if not ctx then
        ngx.log(ngx.ERR, "wasm_fault_injection: ", err)
        return ngx.exit(503)
    end
    ctxs[conf] = ctx
end

local ok, err = wasm.on_http_request_headers(ctx)
if not ok then
    ngx.log(ngx.ERR, "wasm_fault_injection: ", err)
    return ngx.exit(503)
end
