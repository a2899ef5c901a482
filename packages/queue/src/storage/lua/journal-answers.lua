--[[
  Journals the answers of sub-calls of one analysis, write-once each (the first writer of
  a field wins and everyone gets the winner's record back), and announces them to the
  analysis's other processes in one message: the live way back for a run waiting there.
  One script for all the answers a process has in hand at once, so a wave of answers
  costs one command instead of a write and a publish each.

  Input:
    KEYS[1] the analysis's journal hash (<prefix>:journal:{<analysisId>})
    ARGV[1] TTL of the hash, seconds (0: left alone)
    ARGV[2] the channel to announce on (<prefix>:answers:{<analysisId>}), or '' for none
    ARGV[3] '1' to announce with SPUBLISH (a cluster: the channel is in KEYS[1]'s slot,
            and the message stays on its shard), else PUBLISH
    ARGV[4..] field, record JSON pairs

  Output:
    the record JSON stored under each field after the call, in order

  Announced message: a JSON array of [field, record] pairs.
]]
local stored = {}
local message = {}
for i = 4, #ARGV, 2 do
  local field = ARGV[i]
  local record = ARGV[i + 1]
  if redis.call('HSETNX', KEYS[1], field, record) == 0 then
    record = redis.call('HGET', KEYS[1], field)
  end
  stored[#stored + 1] = record
  message[#message + 1] = '[' .. cjson.encode(field) .. ',' .. record .. ']'
end
if tonumber(ARGV[1]) > 0 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
if ARGV[2] ~= '' then
  local command = 'PUBLISH'
  if ARGV[3] == '1' then command = 'SPUBLISH' end
  redis.call(command, ARGV[2], '[' .. table.concat(message, ',') .. ']')
end
return stored
