-- Token bucket with continuous refill in one string, KEYS[1] = "<tokens>:<time ms>".
-- ARGV: capacity, refillPerSecond, cost, commit (1/0).
-- Returns {allowed, remaining, resetAt, retryAfterMs (-1 = never)}.
local capacity = tonumber(ARGV[1])
local per_ms = tonumber(ARGV[2]) / 1000
local cost = tonumber(ARGV[3])
local commit = ARGV[4] == '1'
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000

local tokens = capacity
local state = redis.call('GET', KEYS[1])
if state then
  local k, u = string.match(state, '^([^:]+):(.+)$')
  tokens = math.min(capacity, tonumber(k) + math.max(0, now - tonumber(u)) * per_ms)
end

local allowed = 0
local retry = 0
if cost <= capacity and tokens + 1e-9 >= cost then
  allowed = 1
  if commit and cost > 0 then
    tokens = math.max(0, tokens - cost)
    redis.call('SET', KEYS[1], string.format('%.17g:%.17g', tokens, now),
      'PX', math.max(1, math.ceil((capacity - tokens) / per_ms)))
  end
elseif cost > capacity then
  retry = -1
else
  retry = math.max(1, math.ceil((cost - tokens) / per_ms))
end

local reset_at = math.ceil(now + (capacity - tokens) / per_ms - 1e-9)
return {allowed, math.floor(tokens + 1e-9), reset_at, retry}
