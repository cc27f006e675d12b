-- Exact sliding log. KEYS[1]: sorted set of admitted requests (score = time in ms, member =
-- "seq:cost"); KEYS[2]: hash with the admitted total (t) and a member sequence (s).
-- ARGV: limit, windowMs, cost, commit (1/0). Time comes from the Redis server, so app servers
-- with skewed clocks agree. Returns {allowed, remaining, resetAt, retryAfterMs (-1 = never)}.
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local commit = ARGV[4] == '1'
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000

local function cost_of(member)
  return tonumber(string.match(member, ':(.+)$'))
end

local total = tonumber(redis.call('HGET', KEYS[2], 't') or '0')
local cutoff = now - window
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', cutoff)
if #expired > 0 then
  for i = 1, #expired do
    total = total - cost_of(expired[i])
  end
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', cutoff)
end

local allowed = 0
local retry = 0
local changed = #expired > 0
if cost <= limit and total + cost <= limit then
  allowed = 1
  if commit and cost > 0 then
    local seq = redis.call('HINCRBY', KEYS[2], 's', 1)
    redis.call('ZADD', KEYS[1], now, seq .. ':' .. ARGV[3])
    total = total + cost
    changed = true
  end
elseif cost > limit then
  retry = -1
else
  -- walk from the oldest entry, a page at a time, until enough cost will have left the window
  local need = total + cost - limit - 1e-9
  local freed = 0
  local start = 0
  while retry == 0 do
    local page = redis.call('ZRANGE', KEYS[1], start, start + 63, 'WITHSCORES')
    if #page == 0 then break end
    for i = 1, #page, 2 do
      freed = freed + cost_of(page[i])
      if freed >= need then
        retry = math.max(1, math.ceil(tonumber(page[i + 1]) + window - now))
        break
      end
    end
    start = start + 64
  end
end

local newest = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
local reset_at = math.floor(now)
if #newest == 0 then
  redis.call('DEL', KEYS[1], KEYS[2])
  total = 0
else
  reset_at = math.ceil(tonumber(newest[2]) + window)
  if changed then
    redis.call('HSET', KEYS[2], 't', total)
    local ttl = math.max(1, reset_at - math.floor(now))
    redis.call('PEXPIRE', KEYS[1], ttl)
    redis.call('PEXPIRE', KEYS[2], ttl)
  end
end
return {allowed, math.max(0, math.floor(limit - total + 1e-9)), reset_at, retry}
