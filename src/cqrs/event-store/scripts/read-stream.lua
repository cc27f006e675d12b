-- Reads one stream from a version: its entries point at log positions, returned as log entries.
-- KEYS: stream, all. ARGV: first version, count.
local entries = redis.call('XRANGE', KEYS[1], '0-' .. ARGV[1], '+', 'COUNT', ARGV[2])
local out = {}
for i, entry in ipairs(entries) do
  local id = '0-' .. entry[2][2]
  out[i] = redis.call('XRANGE', KEYS[2], id, id)[1]
end
return out
