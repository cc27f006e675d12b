-- Moves a projection's checkpoint and runs the batch's read-model writes in one atomic step.
-- KEYS: checkpoint (hash, field position), parked (list of JSON), then one key per write.
-- ARGV: from, to, number of parked entries, the parked JSON entries, then per write:
-- command, argument count, arguments (the write's key is its KEYS entry).
-- Returns 1 when committed, 0 when the checkpoint was not at `from` (another runner moved it).
local current = redis.call('HGET', KEYS[1], 'position') or '0'
if current ~= ARGV[1] then return 0 end
local parked = tonumber(ARGV[3])
-- writes before parked entries: Redis keeps what a script did before an error, so a write that
-- fails must stop the script before the parked entries are recorded, or every retry of the
-- batch would record them again
local a = 4 + parked
local k = 3
while a <= #ARGV do
  local command = ARGV[a]
  local argc = tonumber(ARGV[a + 1])
  local args = {}
  for j = 1, argc do args[j] = ARGV[a + 1 + j] end
  redis.call(command, KEYS[k], unpack(args))
  a = a + 2 + argc
  k = k + 1
end
for p = 4, 3 + parked do
  redis.call('RPUSH', KEYS[2], ARGV[p])
end
redis.call('HSET', KEYS[1], 'position', ARGV[2])
return 1
