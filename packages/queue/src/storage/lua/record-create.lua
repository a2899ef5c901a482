--[[
  Creates a record hash: an analysis's or a session's. Its idempotency key, if any, is
  bound afterwards by the store (SET NX), not here: on a Redis Cluster that key lives in
  the slot of the key's own hash tag, not in the record's, and a script touches one slot
  only.

  Input:
    KEYS[1] the record hash of the new id (<prefix>:analysis:{<id>} or
            <prefix>:session:{<id>})
    ARGV[1] TTL, seconds
    ARGV[2..] field, value pairs of the record

  Output:
    1
]]
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('EXPIRE', KEYS[1], ARGV[1])
return 1
