--[[
  Merges fields into the progress JSON of an analysis record: `set` fields replace,
  `add` amounts are added (a null costUsd, an unknown price, stays null). Publishes the
  merged progress as a `progress` event when `publish` is true. Returns the merged JSON.
]]
local function mergeProgress(recordKey, streamKey, now, ttl, maxLen, setJson, addJson, publish)
  local progress = cjson.decode(redis.call('HGET', recordKey, 'progress') or '{}')
  for k, v in pairs(cjson.decode(setJson)) do progress[k] = v end
  for k, v in pairs(cjson.decode(addJson)) do
    local current = progress[k]
    if current ~= cjson.null then
      if type(current) ~= 'number' then current = 0 end
      if v == cjson.null then progress[k] = cjson.null else progress[k] = current + v end
    end
  end
  local json = cjson.encode(progress)
  redis.call('HSET', recordKey, 'progress', json, 'updatedAt', now)
  redis.call('EXPIRE', recordKey, ttl)
  if publish then
    local event = '{"type":"progress","progress":' .. json .. '}'
    redis.call('XADD', streamKey, 'MAXLEN', '~', maxLen, '*', 'type', 'progress', 'event', event)
    redis.call('EXPIRE', streamKey, ttl)
  end
  return json
end
