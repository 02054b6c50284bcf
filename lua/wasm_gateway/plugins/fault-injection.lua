-- fault-injection: the native Lua baseline of the wasm_fault_injection comparison, with the semantics of Apache
-- APISIX's fault-injection plugin (rewrite phase, priority 11000):
--
--   { "abort": { "http_status": 403, "body": "...", "percentage": 50 },
--     "delay": { "duration": 0.5, "percentage": 10 } }
--
-- abort.http_status (integer >= 200) answers the request with that status and abort.body; abort.percentage
-- (integer 0..100, default: every request) is the share of requests answered; delay.duration (seconds) sleeps
-- first, for delay.percentage of requests. At least one of abort and delay, each with at least one field.

local math_random = math.random
local math_floor = math.floor
local ngx_sleep = ngx.sleep
local type = type
local pairs = pairs
local next = next
local tostring = tostring

local _M = {
    version = 0.1,
    priority = 11000,
    name = "fault-injection",
}

local function is_integer(v)
    return type(v) == "number" and v == math_floor(v)
end

local function check_percentage(where, p)
    if p ~= nil and (not is_integer(p) or p < 0 or p > 100) then
        return nil, where .. ".percentage must be an integer within 0..100"
    end
    return true
end

local ABORT_FIELDS = { http_status = true, body = true, percentage = true }
local DELAY_FIELDS = { duration = true, percentage = true }

local function check_fields(where, t, known)
    if type(t) ~= "table" then
        return nil, where .. " must be an object"
    end
    if next(t) == nil then
        return nil, where .. " needs at least one field"
    end
    for k in pairs(t) do
        if not known[k] then
            return nil, where .. ": unknown field \"" .. tostring(k) .. "\""
        end
    end
    return true
end

function _M.check_schema(conf)
    if type(conf) ~= "table" then
        return nil, "conf must be an object"
    end
    local abort, delay = conf.abort, conf.delay
    if abort == nil and delay == nil then
        return nil, "needs \"abort\" or \"delay\""
    end
    local ok, err
    if abort ~= nil then
        ok, err = check_fields("abort", abort, ABORT_FIELDS)
        if not ok then
            return nil, err
        end
        local status = abort.http_status
        if status ~= nil and (not is_integer(status) or status < 200) then
            return nil, "abort.http_status must be an integer >= 200"
        end
        if abort.body ~= nil and type(abort.body) ~= "string" then
            return nil, "abort.body must be a string"
        end
        ok, err = check_percentage("abort", abort.percentage)
        if not ok then
            return nil, err
        end
    end
    if delay ~= nil then
        ok, err = check_fields("delay", delay, DELAY_FIELDS)
        if not ok then
            return nil, err
        end
        local d = delay.duration
        if d ~= nil and (type(d) ~= "number" or d < 0) then
            return nil, "delay.duration must be a number >= 0"
        end
        ok, err = check_percentage("delay", delay.percentage)
        if not ok then
            return nil, err
        end
    end
    return true
end

local function sample_hit(percentage)
    if not percentage then
        return true
    end
    return math_random(1, 100) <= percentage
end

function _M.rewrite(conf)
    local delay = conf.delay
    if delay and delay.duration and sample_hit(delay.percentage) then
        ngx_sleep(delay.duration)
    end
    local abort = conf.abort
    if abort and abort.http_status and sample_hit(abort.percentage) then
        return abort.http_status, abort.body
    end
end

return _M
