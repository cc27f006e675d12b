-- Exact sliding log in one sorted set, KEYS[1]. Each admitted request is a member scored by the
-- server time in ms; the member is "<cum>:<cost>", where cum is the running total of admitted
-- cost including this request. Members are unique because cum only grows, and the cost in the
-- window is newest.cum - oldest.cum + oldest.cost: no counter key, no reading back what expires.
-- ARGV: limit, windowMs, cost, commit (1/0). Time comes from the Redis server, so app servers
-- with skewed clocks agree. Returns {allowed, remaining, resetAt, retryAfterMs (-1 = never)}.
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local commit = ARGV[4] == '1'
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000

local function parse(member)
  local cum, c = string.match(member, '^([^:]+):(.+)$')
  return tonumber(cum), tonumber(c)
end

redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local total = 0
local base = 0
local newest_cum = 0
local newest_at = nil
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0)
if #oldest > 0 then
  local oldest_cum, oldest_cost = parse(oldest[1])
  base = oldest_cum - oldest_cost
  local newest = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
  newest_cum = parse(newest[1])
  newest_at = tonumber(newest[2])
  total = newest_cum - base
end

local allowed = 0
local retry = 0
if cost <= limit and total + cost <= limit + 1e-9 then
  allowed = 1
  if commit and cost > 0 then
    newest_cum = newest_cum + cost
    redis.call('ZADD', KEYS[1], now, string.format('%.17g:%s', newest_cum, ARGV[3]))
    redis.call('PEXPIRE', KEYS[1], math.ceil(window))
    newest_at = now
    total = total + cost
  end
elseif cost > limit then
  retry = -1
else
  -- the first entry whose departure frees enough; with unit costs it is at rank need - 1, so
  -- the first page of `need` entries holds it
  local need = total + cost - limit - 1e-9
  local page = math.min(64, math.max(1, math.ceil(need)))
  local start = 0
  while retry == 0 do
    local entries = redis.call('ZRANGE', KEYS[1], start, start + page - 1, 'WITHSCORES')
    if #entries == 0 then break end
    for i = 1, #entries, 2 do
      if parse(entries[i]) - base >= need then
        retry = math.max(1, math.ceil(tonumber(entries[i + 1]) + window - now))
        break
      end
    end
    start = start + page
    page = 64
  end
end

local reset_at = math.floor(now)
if newest_at then reset_at = math.ceil(newest_at + window) end
return {allowed, math.max(0, math.floor(limit - total + 1e-9)), reset_at, retry}
