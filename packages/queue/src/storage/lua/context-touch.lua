--[[
  Extends the TTL of a stored context, never shortening it (another analysis may have
  asked for a longer life), and reports whether it exists.

  Input:
    KEYS[1] the context key (<prefix>:ctx:{<sha256>})
    ARGV[1] TTL, seconds

  Output:
    1 if the key exists (its TTL now at least ARGV[1]), 0 if it does not
]]
local ttl = redis.call('TTL', KEYS[1])
if ttl == -2 then return 0 end
if ttl ~= -1 and ttl < tonumber(ARGV[1]) then
  redis.call('EXPIRE', KEYS[1], ARGV[1])
end
return 1
