-- Two-window weighted counter in one string per key: "<window index>:<current>:<previous>".
-- One call decides for every key in KEYS, in order (a key may repeat): the store sends the
-- decisions of one event-loop turn together. ARGV: limit, windowMs, then cost and commit (1/0)
-- for each key. Returns {allowed, remaining, resetAt, retryAfterMs (-1 = never)} for each key,
-- flattened.
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local index = math.floor(now / window)
local start = index * window

local out = {}
for i = 1, #KEYS do
  local key = KEYS[i]
  local cost = tonumber(ARGV[1 + 2 * i])
  local commit = ARGV[2 + 2 * i] == '1'

  local current = 0
  local previous = 0
  local state = redis.call('GET', key)
  if state then
    local w, c, p = string.match(state, '^([^:]+):([^:]+):(.+)$')
    local stored = tonumber(w)
    if stored == index then
      current = tonumber(c)
      previous = tonumber(p)
    elseif stored == index - 1 then
      previous = tonumber(c)
    end
  end

  local estimate = previous * (1 - (now - start) / window) + current
  local allowed = 0
  local retry = 0
  if cost <= limit and estimate + cost <= limit + 1e-9 then
    allowed = 1
    if commit and cost > 0 then
      current = current + cost
      estimate = estimate + cost
      redis.call('SET', key, string.format('%d:%.17g:%.17g', index, current, previous),
        'PX', math.ceil(start + 2 * window - now))
    end
  elseif cost > limit then
    retry = -1
  else
    local at
    if current + cost <= limit and previous > 0 then
      at = start + window * (1 - (limit - current - cost) / previous)
    else
      at = start + window + window * math.max(0, 1 - (limit - cost) / current)
    end
    retry = math.max(1, math.ceil(at - now))
  end

  local reset_at = math.floor(now)
  if current > 0 then
    reset_at = start + 2 * window
  elseif previous > 0 then
    reset_at = start + window
  end
  out[#out + 1] = allowed
  out[#out + 1] = math.max(0, math.floor(limit - estimate + 1e-9))
  out[#out + 1] = reset_at
  out[#out + 1] = retry
end
return out
