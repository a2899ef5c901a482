--[[
  Admits one model call under the global request limit, across every LM worker: fixed
  windows on Redis's clock (not the workers'), so workers whose clocks disagree still
  share one window. The window's key is built here from KEYS[1]: the stem names the only
  key family the script touches (as BullMQ's own scripts do), and its hash tag keeps
  every window's counter in the stem's slot on a cluster.

  Input:
    KEYS[1] the window counter's key stem (<prefix>:llm:window:{<prefix>:llm})
    ARGV[1] most calls per window
    ARGV[2] window length, ms

  Output:
    0 when the call may start, else the ms until the next window
]]
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local windowMs = tonumber(ARGV[2])
local window = math.floor(now / windowMs)
local key = KEYS[1] .. ':' .. window
local count = redis.call('INCR', key)
if count == 1 then redis.call('PEXPIRE', key, windowMs * 2) end
if count <= tonumber(ARGV[1]) then return 0 end
return (window + 1) * windowMs - now
