--[[
  Adds an analysis to a session as its next question, unless it is there already (a
  retried request): the position a question gets is decided here, once.

  Input:
    KEYS[1] the session hash (<prefix>:session:{<id>})
    ARGV[1] the analysis id
    ARGV[2] TTL, seconds (the session's, refreshed)
    ARGV[3] now, ms

  Output:
    the question's position (0 for the first), or -1 when there is no such session
]]
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
local known = redis.call('HGET', KEYS[1], 'a:' .. ARGV[1])
if known then return tonumber(known) end
local position = redis.call('HINCRBY', KEYS[1], 'count', 1) - 1
redis.call('HSET', KEYS[1], 'q:' .. position, ARGV[1], 'a:' .. ARGV[1], position,
  'updatedAt', ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[2])
return position
