-- resty.proxy-wasm.http: the small HTTP/1.1 client resty.proxy-wasm performs plugins' HTTP calls with
-- (Debian packages no lua-resty-http). One request per connection (`Connection: close`), over a cosocket, with
-- one deadline for every step; Content-Length, chunked and close-delimited bodies.

local tcp = ngx.socket.tcp
local ngx_now = ngx.now
local ngx_update_time = ngx.update_time
local concat = table.concat
local lower = string.lower
local tonumber = tonumber
local tostring = tostring
local ipairs = ipairs

local _M = {}

-- Headers the client sets itself.
local OWN_HEADERS = { host = true, ["content-length"] = true, connection = true, ["transfer-encoding"] = true }

-- A small HTTP/1.1 client over a cosocket: one request, `Connection: close`, the whole response read.
-- Returns status, headers ({ {name, value} ... }, names lower-cased), body; or nil, err.
local function http_request(call, MAX_CALL_BODY)
    local deadline
    local function remaining()
        ngx_update_time()
        local left = deadline - ngx_now() * 1000
        if left < 1 then
            return nil
        end
        return left
    end
    ngx_update_time()
    deadline = ngx_now() * 1000 + call.timeout

    local host, port = call.upstream:match("^%[(.+)%]:(%d+)$")
    if not host then
        host, port = call.upstream:match("^([^:]+):(%d+)$")
    end
    if not host then
        host = call.upstream:match("^%[(.+)%]$") or call.upstream
        port = call.scheme == "https" and 443 or 80
    end
    port = tonumber(port)

    local sock = tcp()
    sock:settimeout(call.timeout)
    local ok, err = sock:connect(host, port)
    if not ok then
        return nil, "connect to " .. call.upstream .. ": " .. tostring(err)
    end
    local function fail(what, e)
        sock:close()
        return nil, what .. " " .. call.upstream .. ": " .. tostring(e)
    end
    local function budget()
        local left = remaining()
        if not left then
            return false
        end
        sock:settimeout(left)
        return true
    end
    if call.scheme == "https" then
        if not budget() then return fail("timeout on", "tls") end
        ok, err = sock:sslhandshake(nil, call.authority:match("^[^:]+"), true)
        if not ok then
            return fail("tls handshake with", err)
        end
    end

    local body = call.body or ""
    local req = { call.method, " ", call.path, " HTTP/1.1\r\nHost: ", call.authority, "\r\n" }
    for _, kv in ipairs(call.headers) do
        if not OWN_HEADERS[lower(kv[1])] then
            req[#req + 1] = kv[1] .. ": " .. kv[2] .. "\r\n"
        end
    end
    if #body > 0 or call.method == "POST" or call.method == "PUT" or call.method == "PATCH" then
        req[#req + 1] = "Content-Length: " .. #body .. "\r\n"
    end
    req[#req + 1] = "Connection: close\r\n\r\n"
    req[#req + 1] = body
    if not budget() then return fail("timeout on", "send") end
    ok, err = sock:send(concat(req))
    if not ok then
        return fail("send to", err)
    end

    if not budget() then return fail("timeout on", "read") end
    local line
    line, err = sock:receive("*l")
    if not line then
        return fail("read from", err)
    end
    local status = tonumber(line:match("^HTTP/%d%.%d (%d%d%d)"))
    if not status then
        return fail("bad status line from", line)
    end
    local headers = {}
    local length, chunked
    while true do
        if not budget() then return fail("timeout on", "read") end
        line, err = sock:receive("*l")
        if not line then
            return fail("read from", err)
        end
        if line == "" then
            break
        end
        local name, value = line:match("^([^:%s]+)%s*:%s*(.-)%s*$")
        if name then
            name = lower(name)
            headers[#headers + 1] = { name, value }
            if name == "content-length" then
                length = tonumber(value)
            elseif name == "transfer-encoding" and lower(value):find("chunked", 1, true) then
                chunked = true
            end
        end
    end

    local data = ""
    if call.method == "HEAD" or status == 204 or status == 304 or status < 200 then
        data = ""
    elseif chunked then
        local parts, total = {}, 0
        while true do
            if not budget() then return fail("timeout on", "read") end
            line, err = sock:receive("*l")
            if not line then
                return fail("read from", err)
            end
            local size = tonumber(line:match("^%s*(%x+)"), 16)
            if not size then
                return fail("bad chunk from", line)
            end
            if size == 0 then
                -- trailers, up to the empty line
                repeat
                    if not budget() then return fail("timeout on", "read") end
                    line, err = sock:receive("*l")
                    if not line then
                        return fail("read from", err)
                    end
                until line == ""
                break
            end
            total = total + size
            if total > MAX_CALL_BODY then
                return fail("response body larger than " .. MAX_CALL_BODY .. " bytes from", "limit")
            end
            if not budget() then return fail("timeout on", "read") end
            local chunk
            chunk, err = sock:receive(size)
            if not chunk then
                return fail("read from", err)
            end
            parts[#parts + 1] = chunk
            if not budget() then return fail("timeout on", "read") end
            line, err = sock:receive("*l")
            if not line then
                return fail("read from", err)
            end
        end
        data = concat(parts)
    elseif length then
        if length > MAX_CALL_BODY then
            return fail("response body larger than " .. MAX_CALL_BODY .. " bytes from", "limit")
        end
        if length > 0 then
            if not budget() then return fail("timeout on", "read") end
            data, err = sock:receive(length)
            if not data then
                return fail("read from", err)
            end
        end
    else
        local parts, total = {}, 0
        while true do
            if not budget() then return fail("timeout on", "read") end
            local chunk, e, partial = sock:receive(8192)
            chunk = chunk or partial
            if chunk and #chunk > 0 then
                total = total + #chunk
                if total > MAX_CALL_BODY then
                    return fail("response body larger than " .. MAX_CALL_BODY .. " bytes from", "limit")
                end
                parts[#parts + 1] = chunk
            end
            if e == "closed" then
                break
            elseif e then
                return fail("read from", e)
            end
        end
        data = concat(parts)
    end
    sock:close()
    return status, headers, data
end

-- request(call, max_body) -> status, headers, body | nil, err
_M.request = http_request

return _M
