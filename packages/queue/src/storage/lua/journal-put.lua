--[[
  Write-once put of one journal record: the first writer of a field wins and every
  writer gets the winner's value back, so two workers racing on the same step agree on
  one result.

  Input:
    KEYS[1] the analysis's journal hash (<prefix>:journal:{<analysisId>})
    ARGV[1] field (scope + key)
    ARGV[2] record JSON
    ARGV[3] TTL of the hash, seconds (0: left alone)

  Output:
    the JSON stored under the field after the call
]]
redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2])
if tonumber(ARGV[3]) > 0 then redis.call('EXPIRE', KEYS[1], ARGV[3]) end
return redis.call('HGET', KEYS[1], ARGV[1])
