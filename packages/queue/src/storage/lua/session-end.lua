--[[
  Records what a question of a session left for the next ones (its answer, the cells
  that ran, the variables defined), once: a later run of the same question replays the
  same journal, and the first record stays.

  Input:
    KEYS[1] the session hash (<prefix>:session:{<id>})
    ARGV[1] the question's position
    ARGV[2] the record, JSON
    ARGV[3] TTL, seconds (the session's, refreshed)
    ARGV[4] now, ms

  Output:
    1 when written, 0 when the question had one already, -1 when there is no such session
]]
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
local written = redis.call('HSETNX', KEYS[1], 'end:' .. ARGV[1], ARGV[2])
redis.call('HSET', KEYS[1], 'updatedAt', ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return written
