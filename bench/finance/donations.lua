-- wrk script for the finance load run: POST /v1/donations with a fresh
-- request id on every call. Arguments: the bearer token.
--   wrk -t2 -c32 -d10s -s donations.lua http://127.0.0.1:8080 -- TOKEN
local threads = {}

function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  math.randomseed(os.time() * 1000 + id)
  headers = {
    ["Authorization"] = "Bearer " .. args[1],
    ["Content-Type"] = "application/json",
  }
  body = '{"amount":{"currencyCode":"USD","minorUnits":"100"},"donorName":"Load",'
    .. '"visibility":"VISIBILITY_PUBLIC","channel":"CHANNEL_PAYPAL"}'
end

local function hex4()
  return string.format("%04x", math.random(0, 0xffff))
end

local function uuid()
  return hex4() .. hex4() .. "-" .. hex4() .. "-4" .. hex4():sub(2) .. "-"
    .. string.format("%x", math.random(8, 11)) .. hex4():sub(2) .. "-" .. hex4() .. hex4() .. hex4()
end

function request()
  return wrk.format("POST", "/v1/donations?requestId=" .. uuid(), headers, body)
end
