--[[
  Merges into the progress JSON of a record (so several jobs of one analysis tree can
  count sub-calls without losing updates) and publishes the merged progress. A null
  costUsd (unknown price) stays null when amounts are added to it.

  Input:
    KEYS[1] the record hash ({prefix}:analysis:{id})
    KEYS[2] the events stream ({prefix}:events:{id})
    ARGV[1] now, ms
    ARGV[2] TTL, seconds
    ARGV[3] JSON of fields to set
    ARGV[4] JSON of amounts to add
    ARGV[5] stream MAXLEN
    ARGV[6] '1' to publish a progress event

  Output:
    the merged progress JSON, or nil when the record is missing or terminal
]]
local status = redis.call('HGET', KEYS[1], 'status')
if not status or status == 'completed' or status == 'failed' or status == 'cancelled' then
  return nil
end
local progress = cjson.decode(redis.call('HGET', KEYS[1], 'progress') or '{}')
for k, v in pairs(cjson.decode(ARGV[3])) do progress[k] = v end
for k, v in pairs(cjson.decode(ARGV[4])) do
  local current = progress[k]
  if current ~= cjson.null then
    if type(current) ~= 'number' then current = 0 end
    if v == cjson.null then progress[k] = cjson.null else progress[k] = current + v end
  end
end
local json = cjson.encode(progress)
redis.call('HSET', KEYS[1], 'progress', json, 'updatedAt', ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[2])
if ARGV[6] == '1' then
  local event = '{"type":"progress","progress":' .. json .. '}'
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[5], '*', 'type', 'progress', 'event', event)
  redis.call('EXPIRE', KEYS[2], ARGV[2])
end
return json
