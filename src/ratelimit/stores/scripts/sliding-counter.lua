-- Two-window weighted counter in one string per key: "<window index>:<current>:<previous>".
-- ARGV: limit, windowMs, then the batch's (batch.lua, appended). decide returns allowed,
-- remaining, ms until the reset, retryAfterMs (-1 = never).
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local index = math.floor(now / window)
local start = index * window

local function decide(key, cost_arg, commit)
  local cost = tonumber(cost_arg)

  local current = 0
  local previous = 0
  local at_index = index
  local from = start
  local state = redis.call('GET', key)
  if state then
    local w, c, p = string.match(state, '^([^:]+):([^:]+):(.+)$')
    local stored = tonumber(w)
    if stored == index then
      current = tonumber(c)
      previous = tonumber(p)
    elseif stored == index - 1 then
      previous = tonumber(c)
    elseif stored and stored > index then
      -- Written by a clock ahead of this one (an NTP step back, a failover to a replica whose
      -- clock is behind). Read as empty, its window would admit the limit again; like the memory
      -- store, stay in the newest window seen until the clock reaches it.
      at_index = stored
      from = stored * window
      current = tonumber(c)
      previous = tonumber(p)
    end
  end

  local estimate = previous * math.min(1, 1 - (now - from) / window) + current
  local allowed = 0
  local retry = 0
  if cost <= limit and estimate + cost <= limit + 1e-9 then
    allowed = 1
    if commit and cost > 0 then
      current = current + cost
      estimate = estimate + cost
      redis.call('SET', key, string.format('%d:%.17g:%.17g', at_index, current, previous),
        'PX', math.ceil(from + 2 * window - now))
    end
  elseif cost > limit then
    retry = -1
  else
    local at
    if current + cost <= limit and previous > 0 then
      at = from + window * (1 - (limit - current - cost) / previous)
    else
      at = from + window + window * math.max(0, 1 - (limit - cost) / current)
    end
    retry = math.max(1, math.ceil(at - now))
  end

  -- in ms from now, as in sliding-log.lua: the app adds its own clock
  local reset_in = 0
  if current > 0 then
    reset_in = math.ceil(from + 2 * window - now)
  elseif previous > 0 then
    reset_in = math.ceil(from + window - now)
  end
  return allowed, math.max(0, math.floor(limit - estimate + 1e-9)), reset_in, retry
end
