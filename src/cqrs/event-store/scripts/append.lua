-- Appends events to one stream and to the global log, atomically, after the version check.
-- KEYS: stream (Redis Stream of {p = position}, entry id 0-<version>), all (the global log,
-- entry id 0-<position>, one field e = JSON [id, stream id, type, version, timestamp, data,
-- metadata]: one field rather than seven makes reads several times faster to parse),
-- ids (hash: event id -> "<position>:<version>:<stream id>").
-- ARGV: stream id, expected version (-1 = any), n, then n times: id, type, data json, metadata json.
-- Returns {0, version, position} appended, {1, version, position} already stored,
-- {-1, actual version} version mismatch, {-2} ids partly stored or stored in another stream.
local stream_id = ARGV[1]
local expected = tonumber(ARGV[2])
local n = tonumber(ARGV[3])

local found, last_version, last_position = 0, 0, 0
for i = 1, n do
  local stored = redis.call('HGET', KEYS[3], ARGV[4 + (i - 1) * 4])
  if stored then
    local p, v, sid = string.match(stored, '^(%d+):(%d+):(.*)$')
    if sid ~= stream_id then return {-2} end
    found = found + 1
    if tonumber(p) > last_position then
      last_position = tonumber(p)
      last_version = tonumber(v)
    end
  end
end
if found == n then return {1, last_version, last_position} end
if found > 0 then return {-2} end

local version = redis.call('XLEN', KEYS[1])
if expected >= 0 and expected ~= version then return {-1, version} end
-- the log is never trimmed, so its length is the last position
local position = redis.call('XLEN', KEYS[2])
local t = redis.call('TIME')
local now = string.format('%.0f', tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000))
local encoded_stream = cjson.encode(stream_id)

for i = 1, n do
  local base = 4 + (i - 1) * 4
  local v = string.format('%.0f', version + i)
  local p = string.format('%.0f', position + i)
  local envelope = '[' .. cjson.encode(ARGV[base]) .. ',' .. encoded_stream .. ',' .. cjson.encode(ARGV[base + 1]) .. ','
    .. v .. ',' .. now .. ',' .. ARGV[base + 2] .. ',' .. ARGV[base + 3] .. ']'
  redis.call('XADD', KEYS[2], '0-' .. p, 'e', envelope)
  redis.call('XADD', KEYS[1], '0-' .. v, 'p', p)
  redis.call('HSET', KEYS[3], ARGV[base], p .. ':' .. v .. ':' .. stream_id)
end
return {0, version + n, position + n}
