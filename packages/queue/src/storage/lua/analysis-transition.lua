--[[
  Updates a record if its status allows, and publishes an event in the same step: a
  subscriber never sees a terminal event for a record that is not terminal, nor the
  reverse, and a finished analysis is never reopened by a late writer. A change that
  stops the analysis (a terminal status, or a cancel request) also tells every worker
  at once, on the stops channel, so the calls of the analysis still queued or running
  anywhere are dropped.

  Input:
    KEYS[1] the record hash (<prefix>:analysis:{<id>})
    KEYS[2] the events stream (<prefix>:events:{<id>})
    KEYS[3] (optional) the journal hash (<prefix>:journal:{<id>}), given the record's TTL
    ARGV[1] now, ms
    ARGV[2] TTL of record and stream, seconds
    ARGV[3] allowed current statuses, comma-separated, or '' for any non-terminal one
    ARGV[4] event type, or '' for none
    ARGV[5] event JSON
    ARGV[6] stream MAXLEN
    ARGV[7] the stops channel (<prefix>:stops) when the change stops the analysis, else ''
    ARGV[8] '1' to refuse the change once a cancel was requested
    ARGV[9] JSON of progress fields to set (the final usage), or ''
    ARGV[10..] field, value pairs

  Output:
    1 updated, 0 refused (status not allowed), -1 no such record, -2 refused (cancel
    requested)
]]
--- @include "merge-progress"
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return -1 end
if ARGV[3] == '' then
  if status == 'completed' or status == 'failed' or status == 'cancelled' then return 0 end
elseif not string.find(',' .. ARGV[3] .. ',', ',' .. status .. ',', 1, true) then
  return 0
end
if ARGV[8] == '1' and redis.call('HGET', KEYS[1], 'cancelRequested') == '1' then return -2 end
if #ARGV > 9 then redis.call('HSET', KEYS[1], unpack(ARGV, 10)) end
if ARGV[9] ~= '' then
  mergeProgress(KEYS[1], KEYS[2], ARGV[1], ARGV[2], ARGV[6], ARGV[9], '{}', false)
end
redis.call('HSET', KEYS[1], 'updatedAt', ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[2])
if KEYS[3] then redis.call('EXPIRE', KEYS[3], ARGV[2]) end
if ARGV[4] ~= '' then
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[6], '*', 'type', ARGV[4], 'event', ARGV[5])
  redis.call('EXPIRE', KEYS[2], ARGV[2])
end
if ARGV[7] ~= '' then
  redis.call('PUBLISH', ARGV[7], redis.call('HGET', KEYS[1], 'id'))
end
return 1
