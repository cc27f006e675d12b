-- Exact sliding log, one list per key, oldest entry first. Each admitted request is an entry
-- "<at><cum>:<cost>": the server time in µs as exactly 16 digits (good until the year 2286), the
-- running total of admitted cost including this request, and its cost. The cost in the window is
-- newest.cum - oldest.cum + oldest.cost, so a decision reads both ends of the list and appends:
-- every step O(1), no counter key. Entries are parsed by position and written with %d where they
-- can be: Lua's pattern matching and %.17g cost more than the Redis commands around them.
-- ARGV: limit, windowMs, then the batch's (batch.lua, appended). Time comes from the Redis server,
-- so app servers with skewed clocks agree. decide returns allowed, remaining, ms until the reset,
-- retryAfterMs (-1 = never), in ms.
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2]) * 1000
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local cutoff = now - window

local function at_of(entry)
  return tonumber(string.sub(entry, 1, 16))
end

local function parse(entry)
  local colon = string.find(entry, ':', 17, true)
  return tonumber(string.sub(entry, 1, 16)), tonumber(string.sub(entry, 17, colon - 1)),
    tonumber(string.sub(entry, colon + 1))
end

local function number(x)
  if x == math.floor(x) and x < 1e15 then return string.format('%d', x) end
  return string.format('%.17g', x)
end

local function decide(key, cost_arg, commit)
  local cost = tonumber(cost_arg)

  -- evict what has left the window a page at a time; in steady traffic that is one entry now and then
  local oldest = redis.call('LINDEX', key, 0)
  while oldest and at_of(oldest) <= cutoff do
    local page = redis.call('LRANGE', key, 0, 63)
    local gone = 0
    while gone < #page and at_of(page[gone + 1]) <= cutoff do gone = gone + 1 end
    redis.call('LTRIM', key, gone, -1)
    oldest = page[gone + 1] or redis.call('LINDEX', key, 0)
  end

  local total = 0
  local base = 0
  local newest_cum = 0
  local newest_at = nil
  if oldest then
    local _, oldest_cum, oldest_cost = parse(oldest)
    base = oldest_cum - oldest_cost
    newest_at, newest_cum = parse(redis.call('LINDEX', key, -1))
    total = newest_cum - base
  end

  local allowed = 0
  local retry = 0
  if cost <= limit and total + cost <= limit + 1e-9 then
    allowed = 1
    if commit and cost > 0 then
      newest_cum = newest_cum + cost
      -- Times rise strictly so the list stays in order even when a key is decided twice in one
      -- call (one TIME) or the server clock steps back: 1 µs after the newest entry then.
      local at = now
      if newest_at and at <= newest_at then at = newest_at + 1 end
      redis.call('RPUSH', key, string.format('%016d', at) .. number(newest_cum) .. ':' .. cost_arg)
      -- The key must outlive its newest entry by a window. The first admission of each
      -- window-long epoch sets it to expire at the end of the next epoch, which covers every
      -- admission of this epoch; the others need no PEXPIRE.
      local epoch = math.floor(at / window)
      if not newest_at or math.floor(newest_at / window) ~= epoch then
        redis.call('PEXPIRE', key, math.ceil(((epoch + 2) * window - now) / 1000))
      end
      newest_at = at
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
      local entries = redis.call('LRANGE', key, start, start + page - 1)
      if #entries == 0 then break end
      for j = 1, #entries do
        local at, cum = parse(entries[j])
        if cum - base >= need then
          retry = math.max(1, math.ceil((at + window - now) / 1000))
          break
        end
      end
      start = start + page
      page = 64
    end
  end

  -- the reset is answered in ms from now, not as a time: the app adds its own clock, which is
  -- what it compares resetAt with, and may differ from the Redis server's
  local reset_in = 0
  if newest_at then reset_in = math.ceil((newest_at + window - now) / 1000) end
  return allowed, math.max(0, math.floor(limit - total + 1e-9)), reset_in, retry
end
