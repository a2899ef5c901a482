--[[
  Merges into the progress JSON of a record (so several jobs of one analysis tree can
  count sub-calls without losing updates) and publishes the merged progress.

  Input:
    KEYS[1] the record hash (<prefix>:analysis:{<id>})
    KEYS[2] the events stream (<prefix>:events:{<id>})
    ARGV[1] now, ms
    ARGV[2] TTL, seconds
    ARGV[3] JSON of fields to set
    ARGV[4] JSON of amounts to add
    ARGV[5] stream MAXLEN
    ARGV[6] '1' to publish a progress event

  Output:
    the merged progress JSON, or nil when the record is missing or terminal
]]
--- @include "merge-progress"
local status = redis.call('HGET', KEYS[1], 'status')
if not status or status == 'completed' or status == 'failed' or status == 'cancelled' then
  return nil
end
return mergeProgress(KEYS[1], KEYS[2], ARGV[1], ARGV[2], ARGV[5], ARGV[3], ARGV[4], ARGV[6] == '1')
