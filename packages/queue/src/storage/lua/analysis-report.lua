--[[
  Writes, in order, what a worker has to say about an analysis at one moment: engine
  events appended to its stream, and progress merged into its record (each merge also
  published as a progress event; skipped once the analysis has ended). One script for
  what a turn of the worker's event loop produced, instead of a command or two per event.

  Input:
    KEYS[1] the record hash (<prefix>:analysis:{<id>})
    KEYS[2] the events stream (<prefix>:events:{<id>})
    ARGV[1] now, ms
    ARGV[2] TTL of record and stream, seconds
    ARGV[3] stream MAXLEN
    ARGV[4..] entries of three each, in order:
      'event', event type, event JSON
      'progress', JSON of fields to set, JSON of amounts to add

  Output:
    the number of entries written
]]
--- @include "merge-progress"
local status = redis.call('HGET', KEYS[1], 'status')
local open = status and status ~= 'completed' and status ~= 'failed' and status ~= 'cancelled'
local written = 0
for i = 4, #ARGV, 3 do
  if ARGV[i] == 'event' then
    redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*', 'type', ARGV[i + 1], 'event', ARGV[i + 2])
    written = written + 1
  elseif open then
    mergeProgress(KEYS[1], KEYS[2], ARGV[1], ARGV[2], ARGV[3], ARGV[i + 1], ARGV[i + 2], true)
    written = written + 1
  end
end
if written > 0 then redis.call('EXPIRE', KEYS[2], ARGV[2]) end
return written
