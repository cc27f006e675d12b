-- Appended to each algorithm's script, which defines decide(key, cost, commit) returning four
-- numbers. One call decides for every key in KEYS, in order (a key may repeat), because the store
-- sends the decisions of one event-loop turn together. ARGV[3], ARGV[4] are the first key's cost
-- and commit flag (1/0), ARGV[5], ARGV[6] the second's, and so on.
-- Returns the four numbers of every decision, flattened. A decision that fails (a key of another
-- type, say) gives its error message in place of its first number and fails alone: unprotected,
-- it would fail the whole call after the decisions before it were written.
local out = {}
for i = 1, #KEYS do
  local ok, allowed, remaining, reset, retry = pcall(decide, KEYS[i], ARGV[1 + 2 * i], ARGV[2 + 2 * i] == '1')
  if ok then
    out[4 * i - 3] = allowed
    out[4 * i - 2] = remaining
    out[4 * i - 1] = reset
    out[4 * i] = retry
  else
    out[4 * i - 3] = tostring(allowed)
    out[4 * i - 2] = 0
    out[4 * i - 1] = 0
    out[4 * i] = 0
  end
end
return out
