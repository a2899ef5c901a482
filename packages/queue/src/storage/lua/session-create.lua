--[[
  Creates a session record, or finds the session an idempotency key is bound to. One
  script, so two producers racing with the same key create one session.

  Input:
    KEYS[1] the session hash of the new id ({prefix}:session:{id})
    KEYS[2] (optional) the idempotency key ({prefix}:session-idem:{key})
    ARGV[1] the new id
    ARGV[2] TTL, seconds
    ARGV[3..] field, value pairs of the record

  Output:
    {id, 1} when created, {existing id, 0} when the key was bound already
]]
if #KEYS == 2 then
  local existing = redis.call('GET', KEYS[2])
  if existing then return {existing, 0} end
  redis.call('SET', KEYS[2], ARGV[1], 'EX', ARGV[2])
end
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
redis.call('EXPIRE', KEYS[1], ARGV[2])
return {ARGV[1], 1}
