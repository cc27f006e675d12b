-- Token bucket as a GCRA whose clock is the key's own TTL. The state is the deficit: how long,
-- in ms, until the bucket is full again. The key expires exactly then, so its PTTL *is* the
-- deficit, counted down by the Redis server's clock, and no TIME call is needed; the value holds
-- the sub-millisecond remainder that PX cannot express (deficit = PTTL + value, value in (-1, 0]).
-- A missing key is a full bucket. One call decides for every key in KEYS, in order (a key may
-- repeat): the store sends the decisions of one event-loop turn together. ARGV: capacity,
-- refillPerSecond, then cost and commit (1/0) for each key.
-- Returns {allowed, remaining, ms until full, retryAfterMs (-1 = never)} for each key, flattened.
local capacity = tonumber(ARGV[1])
local interval = 1000 / tonumber(ARGV[2])
local horizon = capacity * interval
local slack = 1e-9 * interval

local out = {}
for i = 1, #KEYS do
  local key = KEYS[i]
  local cost = tonumber(ARGV[1 + 2 * i])
  local commit = ARGV[2 + 2 * i] == '1'

  local deficit = 0
  local remainder = redis.call('GET', key)
  if remainder then
    local ttl = redis.call('PTTL', key)
    if ttl > 0 then deficit = math.max(0, ttl + tonumber(remainder)) end
  end

  local allowed = 0
  local retry = 0
  if cost <= capacity and deficit + cost * interval <= horizon + slack then
    allowed = 1
    if commit and cost > 0 then
      deficit = deficit + cost * interval
      local px = math.ceil(deficit)
      redis.call('SET', key, deficit - px, 'PX', px)
    end
  elseif cost > capacity then
    retry = -1
  else
    retry = math.max(1, math.ceil(deficit + cost * interval - horizon - slack))
  end

  out[#out + 1] = allowed
  out[#out + 1] = math.floor(capacity - deficit / interval + 1e-9)
  out[#out + 1] = math.ceil(deficit - slack)
  out[#out + 1] = retry
end
return out
