--[[
  Updates a record if its status allows, and publishes an event in the same step: a
  subscriber never sees a terminal event for a record that is not terminal, nor the
  reverse, and a finished analysis is never reopened by a late writer.

  Input:
    KEYS[1] the record hash ({prefix}:analysis:{id})
    KEYS[2] the events stream ({prefix}:events:{id})
    ARGV[1] now, ms
    ARGV[2] TTL of record and stream, seconds
    ARGV[3] allowed current statuses, comma-separated, or '' for any non-terminal one
    ARGV[4] event type, or '' for none
    ARGV[5] event JSON
    ARGV[6] stream MAXLEN
    ARGV[7..] field, value pairs

  Output:
    1 updated, 0 refused (status not allowed), -1 no such record
]]
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return -1 end
if ARGV[3] == '' then
  if status == 'completed' or status == 'failed' or status == 'cancelled' then return 0 end
elseif not string.find(',' .. ARGV[3] .. ',', ',' .. status .. ',', 1, true) then
  return 0
end
if #ARGV > 6 then redis.call('HSET', KEYS[1], unpack(ARGV, 7)) end
redis.call('HSET', KEYS[1], 'updatedAt', ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[2])
if ARGV[4] ~= '' then
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[6], '*', 'type', ARGV[4], 'event', ARGV[5])
  redis.call('EXPIRE', KEYS[2], ARGV[2])
end
return 1
