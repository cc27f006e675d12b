-- Token bucket as a GCRA whose clock is the key's own TTL. The state is the deficit: how long,
-- in ms, until the bucket is full again. The key expires exactly then, so its PTTL *is* the
-- deficit, counted down by the Redis server's clock, and no TIME call is needed; the value holds
-- the sub-millisecond remainder that PX cannot express (deficit = PTTL + value, value in (-1, 0]).
-- A missing key is a full bucket. ARGV: capacity, refillPerSecond, then the batch's (batch.lua,
-- appended). decide returns allowed, remaining, ms until full, retryAfterMs (-1 = never).
local capacity = tonumber(ARGV[1])
local interval = 1000 / tonumber(ARGV[2])
local horizon = capacity * interval
local slack = 1e-9 * interval

local function decide(key, cost_arg, commit)
  local cost = tonumber(cost_arg)

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

  return allowed, math.floor(capacity - deficit / interval + 1e-9), math.ceil(deficit - slack), retry
end
