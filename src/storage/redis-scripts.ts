/**
 * Lua scripts run atomically by Redis. Keys that depend on the data (topic indexes) are passed as arguments,
 * so these scripts suit a single Redis (or a replicated primary), not Redis Cluster.
 */

/**
 * History indexes: one sorted set of event ids per topic (every event under its topics and their ancestors) and
 * one of all ids, all scored 0 and ordered by member, so ids are stored zero-padded (`<16 digits>-<16 digits>`).
 * Reads walk only the indexes of the topics asked for. The epoch key holds the id where this history began
 * (set once, when the first event of an empty Redis is written): a cursor before it is from a history that no
 * longer exists.
 */
const IDS_FN = `
local function pad(id)
  local d = string.find(id, '-', 1, true)
  local ms = string.sub(id, 1, d - 1)
  local seq = string.sub(id, d + 1)
  return string.rep('0', 16 - #ms) .. ms .. '-' .. string.rep('0', 16 - #seq) .. seq
end
local function unpad(m)
  return string.match(string.sub(m, 1, 16), '^0*(%d+)$') .. '-' .. string.match(string.sub(m, 18), '^0*(%d+)$')
end
`;

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

/** KEYS: stream, trim mark, all-ids index. ARGV: max events, min id. */
export const TRIM = IDS_FN + TRIM_FN + `
trim(KEYS[1], KEYS[2], ARGV[1], ARGV[2])
local mark = redis.call('GET', KEYS[2])
if mark then redis.call('ZREMRANGEBYLEX', KEYS[3], '-', '[' .. pad(mark)) end
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
 * KEYS: article, events stream, known-topics set, all-articles index, trim mark, held hash, held due set,
 *       history epoch, all-ids index.
 * ARGV: expected JSON ('' = absent), new JSON, ttl ms, event JSON ('' = none), max events, min id, listed ('1'/'0'),
 *       score, article id, index key prefix, held ('1' = compare-and-set it, '' = leave it), expected held JSON,
 *       new held JSON, new held release ms, n, n old index topics, m, m new index topics, history index key
 *       prefix, history index ttl ms, k, k event index topics, every-article index key, audit trail key, audit
 *       record JSON ('' = none; the event id is added to it).
 * Returns false on a mismatch, else the new event id ('' when no event).
 */
export const COMMIT = IDS_FN + TRIM_FN + HELD_FN + `
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
local hat = at + m + 1
local k = tonumber(ARGV[hat + 2])
local every, trail, record = ARGV[hat + 3 + k], ARGV[hat + 4 + k], ARGV[hat + 5 + k]
redis.call('ZADD', every, ARGV[8], id)
redis.call('PEXPIRE', trail, ARGV[3])
if ARGV[4] == '' then return '' end
if redis.call('EXISTS', KEYS[8]) == 0 then
  local t = redis.call('TIME')
  redis.call('SET', KEYS[8], t[1] .. string.format('%03d', math.floor(tonumber(t[2]) / 1000)) .. '-0')
end
local eid = redis.call('XADD', KEYS[2], '*', 'e', ARGV[4])
trim(KEYS[2], KEYS[5], ARGV[5], ARGV[6])
local member = pad(eid)
local mark = redis.call('GET', KEYS[5])
local hprefix = ARGV[hat]
local httl = ARGV[hat + 1]
redis.call('ZADD', KEYS[9], 0, member)
if mark then redis.call('ZREMRANGEBYLEX', KEYS[9], '-', '[' .. pad(mark)) end
for i = 1, k do
  local key = hprefix .. ARGV[hat + 2 + i]
  redis.call('ZADD', key, 0, member)
  if mark then redis.call('ZREMRANGEBYLEX', key, '-', '[' .. pad(mark)) end
  redis.call('PEXPIRE', key, httl)
end
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

/**
 * One page of the history, bounded by count and bytes, read through the indexes (see IDS_FN).
 * KEYS: stream, trim mark, epoch, then the index of each topic asked for (or the all-ids index).
 * ARGV: cursor ('' = the latest events), limit, max bytes (0 = none), max behind (0 = none).
 * Returns { status ('ok' or a resync reason), head ('' = none), more ('1'/'0'), id1, json1, id2, json2, ... }.
 */
export const READ_PAGE = IDS_FN + `
local head = ''
local ok, info = pcall(redis.call, 'XINFO', 'STREAM', KEYS[1])
if ok then
  for i = 1, #info, 2 do
    if info[i] == 'last-generated-id' and info[i + 1] ~= '0-0' then head = info[i + 1] end
  end
end
local since = ARGV[1]
local limit = tonumber(ARGV[2])
local maxBytes = tonumber(ARGV[3])
local maxBehind = tonumber(ARGV[4])
local mark = redis.call('GET', KEYS[2])
local lower = '-'
local pmark = mark and pad(mark) or nil
if since ~= '' then
  local epoch = redis.call('GET', KEYS[3])
  local psince = pad(since)
  if (not epoch) or psince < pad(epoch) or head == '' or psince > pad(head) then return { 'history_reset', head, '0' } end
  if pmark and psince < pmark then return { 'history_truncated', head, '0' } end
  lower = '(' .. psince
elseif pmark then
  lower = '(' .. pmark
end
local function union(ids, seen, list)
  for _, m in ipairs(list) do
    if not seen[m] then
      seen[m] = true
      ids[#ids + 1] = m
    end
  end
end
if since ~= '' and maxBehind > 0 then
  local total = 0
  for i = 4, #KEYS do total = total + redis.call('ZLEXCOUNT', KEYS[i], lower, '+') end
  if total > maxBehind then
    local ids, seen = {}, {}
    for i = 4, #KEYS do union(ids, seen, redis.call('ZRANGEBYLEX', KEYS[i], lower, '+', 'LIMIT', 0, maxBehind + 1)) end
    if #ids > maxBehind then return { 'too_far_behind', head, '0' } end
  end
end
local ids, seen = {}, {}
for i = 4, #KEYS do
  if since ~= '' then
    union(ids, seen, redis.call('ZRANGEBYLEX', KEYS[i], lower, '+', 'LIMIT', 0, limit + 1))
  else
    union(ids, seen, redis.call('ZREVRANGEBYLEX', KEYS[i], '+', lower, 'LIMIT', 0, limit + 1))
  end
end
if since ~= '' then table.sort(ids) else table.sort(ids, function(a, b) return a > b end) end
local out = {}
local n, bytes, more = 0, 0, '0'
for _, m in ipairs(ids) do
  local entry = redis.call('XRANGE', KEYS[1], unpad(m), unpad(m))[1]
  if entry then
    local json = entry[2][2]
    if n >= limit or (n > 0 and maxBytes > 0 and bytes + #json > maxBytes) then
      more = '1'
      break
    end
    out[#out + 1] = entry[1]
    out[#out + 1] = json
    n = n + 1
    bytes = bytes + #json
  end
end
local reply = { 'ok', head, more }
if since ~= '' then
  for i = 1, #out do reply[#reply + 1] = out[i] end
else
  for i = #out - 1, 1, -2 do
    reply[#reply + 1] = out[i]
    reply[#reply + 1] = out[i + 1]
  end
end
return reply
`;
