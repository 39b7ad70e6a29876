-- wrk script: POSTs one usage record per request, each with an id no other request uses.
-- Arguments (after --): a run prefix and the models file ("provider model" per line).
local threads = 0
local prefix, counter, models = "", 0, {}

function setup(thread)
  threads = threads + 1
  thread:set("thread_no", threads)
end

function init(args)
  prefix = args[1] .. "-" .. thread_no
  for line in io.lines(args[2]) do
    local provider, model = line:match("^(%S+) (%S+)$")
    models[#models + 1] = { provider, model }
  end
  math.randomseed(thread_no)
end

local headers = { ["Content-Type"] = "application/json" }

function request()
  counter = counter + 1
  local m = models[math.random(#models)]
  local body = string.format(
    '{"id":"%s-%d","userId":"user-%04d","projectId":"project-%d","provider":"%s","model":"%s",' ..
    '"usage":{"promptTokens":%d,"completionTokens":%d}}',
    prefix, counter, math.random(0, 999), math.random(0, 4), m[1], m[2],
    math.random(200, 4200), math.random(50, 1050))
  return wrk.format("POST", "/api/v1/usage", headers, body)
end
