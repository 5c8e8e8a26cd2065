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
 * An article's held version: a JSON string in one hash, and its release time in a sorted set (absent: withheld).
 * Expects: held hash, due set, article id, held JSON ('' = none), release time in ms ('' = none).
 */
const HELD_FN = `
local function held_is(hash, id, json)
  return (redis.call('HGET', hash, id) or '') == json
end
local function set_held(hash, due, id, json, at)
  if json == '' then
    redis.call('HDEL', hash, id)
    redis.call('ZREM', due, id)
    return
  end
  redis.call('HSET', hash, id, json)
  if at == '' then redis.call('ZREM', due, id) else redis.call('ZADD', due, at, id) end
end
`;

/**
 * Compare-and-set of an article with its event and, when asked, its held version.
 * KEYS: article, events stream, known-topics set, all-articles index, trim mark, held hash, held due set.
 * ARGV: expected JSON ('' = absent), new JSON, ttl ms, event JSON ('' = none), max events, min id, listed ('1'/'0'),
 *       score, article id, index key prefix, held ('1' = compare-and-set it, '' = leave it), expected held JSON,
 *       new held JSON, new held release ms, n, n old index topics, m, m new index topics, every-article index key,
 *       audit trail key, audit record JSON ('' = none; the event id is added to it).
 * Returns false on a mismatch, else the new event id ('' when no event).
 */
export const COMMIT = TRIM_FN + HELD_FN + `
local cur = redis.call('GET', KEYS[1])
if (cur or '') ~= ARGV[1] then return false end
local id = ARGV[9]
if ARGV[11] == '1' then
  if not held_is(KEYS[6], id, ARGV[12]) then return false end
  set_held(KEYS[6], KEYS[7], id, ARGV[13], ARGV[14])
end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
local prefix = ARGV[10]
local n = tonumber(ARGV[15])
for i = 1, n do redis.call('ZREM', prefix .. ARGV[15 + i], id) end
redis.call('ZREM', KEYS[4], id)
local at = 16 + n
local m = tonumber(ARGV[at])
if ARGV[7] == '1' then
  for i = 1, m do
    local t = ARGV[at + i]
    redis.call('ZADD', prefix .. t, ARGV[8], id)
    redis.call('SADD', KEYS[3], t)
  end
  redis.call('ZADD', KEYS[4], ARGV[8], id)
end
local every, trail, record = ARGV[at + m + 1], ARGV[at + m + 2], ARGV[at + m + 3]
redis.call('ZADD', every, ARGV[8], id)
redis.call('PEXPIRE', trail, ARGV[3])
if ARGV[4] == '' then return '' end
local eid = redis.call('XADD', KEYS[2], '*', 'e', ARGV[4])
trim(KEYS[2], KEYS[5], ARGV[5], ARGV[6])
if record ~= '' then
  local r = cjson.decode(record)
  r['eventId'] = eid
  redis.call('RPUSH', trail, cjson.encode(r))
  redis.call('PEXPIRE', trail, ARGV[3])
end
return eid
`;

/**
 * Compare-and-set of an article's held version alone (the article must still be as read, and is left as it is).
 * KEYS: article, held hash, held due set. ARGV: expected article JSON ('' = absent), article id, expected held JSON,
 * new held JSON ('' = none), new held release ms ('' = none). Returns 1 when written, 0 on a mismatch.
 */
export const COMMIT_HELD = HELD_FN + `
if (redis.call('GET', KEYS[1]) or '') ~= ARGV[1] then return 0 end
if not held_is(KEYS[2], ARGV[2], ARGV[3]) then return 0 end
set_held(KEYS[2], KEYS[3], ARGV[2], ARGV[4], ARGV[5])
return 1
`;
