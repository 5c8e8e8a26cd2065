/**
 * Lua scripts run atomically by Redis. Keys that depend on the data (topic indexes) are passed as arguments,
 * so these scripts suit a single Redis (or a replicated primary), not Redis Cluster.
 */

/**
 * Trims the history by count and age, remembering the newest trimmed id: Redis's own max-deleted-entry-id only
 * follows XDEL, and the resync rule needs to know whether anything after a client's cursor is gone.
 * Expects: stream key, mark key, max events, min id.
 */
const TRIM_FN = `
local function trim(stream, mark, maxlen, minid)
  local last = nil
  local excess = redis.call('XLEN', stream) - tonumber(maxlen)
  if excess > 0 then
    local gone = redis.call('XRANGE', stream, '-', '+', 'COUNT', excess)
    last = gone[#gone][1]
    redis.call('XTRIM', stream, 'MAXLEN', maxlen)
  end
  local old = redis.call('XREVRANGE', stream, '(' .. minid, '-', 'COUNT', 1)
  if #old > 0 then
    last = old[1][1]
    redis.call('XTRIM', stream, 'MINID', minid)
  end
  if last then redis.call('SET', mark, last) end
end
`;

/** KEYS: stream, trim mark. ARGV: max events, min id. */
export const TRIM = TRIM_FN + `
trim(KEYS[1], KEYS[2], ARGV[1], ARGV[2])
return 1
`;

/**
 * Compare-and-set of an article with its event.
 * KEYS: article, events stream, known-topics set, all-articles index, trim mark.
 * ARGV: expected JSON ('' = absent), new JSON, ttl ms, event JSON ('' = none), max events, min id, listed ('1'/'0'),
 *       score, article id, index key prefix, n, n old index topics, m, m new index topics.
 * Returns false on a mismatch, else the new event id ('' when no event).
 */
export const COMMIT = TRIM_FN + `
local cur = redis.call('GET', KEYS[1])
if (cur or '') ~= ARGV[1] then return false end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
local id = ARGV[9]
local prefix = ARGV[10]
local n = tonumber(ARGV[11])
for i = 1, n do redis.call('ZREM', prefix .. ARGV[11 + i], id) end
redis.call('ZREM', KEYS[4], id)
local at = 12 + n
local m = tonumber(ARGV[at])
if ARGV[7] == '1' then
  for i = 1, m do
    local t = ARGV[at + i]
    redis.call('ZADD', prefix .. t, ARGV[8], id)
    redis.call('SADD', KEYS[3], t)
  end
  redis.call('ZADD', KEYS[4], ARGV[8], id)
end
if ARGV[4] == '' then return '' end
local eid = redis.call('XADD', KEYS[2], '*', 'e', ARGV[4])
trim(KEYS[2], KEYS[5], ARGV[5], ARGV[6])
return eid
`;

/** Removes a held item only if it is still exactly the one given. KEYS: held hash, due zset. ARGV: id, JSON. */
export const DROP_HELD = `
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then
  redis.call('HDEL', KEYS[1], ARGV[1])
  redis.call('ZREM', KEYS[2], ARGV[1])
end
return 1
`;
