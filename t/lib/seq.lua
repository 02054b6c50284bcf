-- Test helper: requests sent from inside a test request, one after the other.
--
-- Test::Nginx checks every request of a multi-request block (`--- request eval [...]`) against
-- the same error.log expectations (an array-valued grep_error_log_out is indexed by repetition,
-- not by request). A block that needs to see what each request of a sequence logs sends one
-- request whose handler calls seq.get() for each step: each step logs "seq: GET <uri>" first,
-- so one grep_error_log_out shows which step logged what.
local _M = {}

local function dechunk(body)
    local out, pos = {}, 1
    while true do
        local size, data = body:match("^(%x+)[^\r\n]*\r\n()", pos)
        size = tonumber(size or "", 16)
        if not size then
            return nil, "bad chunked body"
        end
        if size == 0 then
            return table.concat(out)
        end
        out[#out + 1] = body:sub(data, data + size - 1)
        pos = data + size + 2
    end
end

-- GET `uri` on a new connection to this server (HTTP/1.1, Connection: close), with the
-- `headers` given ({ "Name: value", ... }). Returns the status, the body (de-chunked) and the
-- raw header block.
function _M.get(uri, headers)
    ngx.log(ngx.INFO, "seq: GET ", uri)
    local sock = ngx.socket.tcp()
    sock:settimeout(10000)
    assert(sock:connect("127.0.0.1", ngx.var.server_port))
    local extra = ""
    for _, h in ipairs(headers or {}) do
        extra = extra .. h .. "\r\n"
    end
    assert(sock:send("GET " .. uri .. " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
                     .. extra .. "\r\n"))
    local raw = assert(sock:receive("*a"))
    sock:close()
    local head, body = raw:match("^(.-\r\n)\r\n(.*)$")
    assert(head, "no response header")
    if head:lower():find("\r\ntransfer%-encoding: chunked\r\n") then
        body = assert(dechunk(body))
    end
    return tonumber(head:match("^HTTP/1%.%d (%d+)")), body, head
end

return _M
