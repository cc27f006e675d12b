-- Moves a projection's checkpoint and runs the batch's read-model writes in one atomic step.
-- KEYS: checkpoint (hash, fields position and generation), parked (list of JSON), then one key
-- per write.
-- ARGV: from, generation, to, then the batch's events in position order, each either
-- 'p' and a parked JSON entry (a handler that kept failing), or 'w', the event's JSON, its number
-- of writes, then per write: command, argument count, arguments (the write's key is its KEYS entry).
-- Returns 0 when the checkpoint was not at `from` and `generation` (another runner moved it, or a
-- rebuild fenced it), otherwise the parked JSON entries of the events whose write failed.
local checkpoint = redis.call('HMGET', KEYS[1], 'position', 'generation')
-- a checkpoint written before generations existed has none: it is generation 0
if (checkpoint[1] or '0') ~= ARGV[1] or (checkpoint[2] or '0') ~= ARGV[2] then return 0 end
-- Redis does not undo what a script did before an error, so a failing write must not stop the
-- script: the checkpoint would stay, and every retry of the batch would apply the writes before
-- it again. pcall turns the failure into a parked event and the checkpoint still moves.
local failed = {}
-- both kinds of parked entries, in the events' order: the list promises oldest first
local parked = {}
local a = 4
local k = 3
while a <= #ARGV do
  if ARGV[a] == 'p' then
    parked[#parked + 1] = ARGV[a + 1]
    a = a + 2
  else
    local event = ARGV[a + 1]
    local count = tonumber(ARGV[a + 2])
    a = a + 3
    local failure
    for _ = 1, count do
      local argc = tonumber(ARGV[a + 1])
      -- the event's writes after its failing one are skipped: a parked event is not half-applied further
      if not failure then
        local args = {}
        for j = 1, argc do args[j] = ARGV[a + 1 + j] end
        local reply = redis.pcall(ARGV[a], KEYS[k], unpack(args))
        if type(reply) == 'table' and reply.err then failure = reply.err end
      end
      a = a + 2 + argc
      k = k + 1
    end
    if failure then
      local entry = '{"event":' .. event .. ',"error":' .. cjson.encode(failure) .. ',"attempts":1}'
      failed[#failed + 1] = entry
      parked[#parked + 1] = entry
    end
  end
end
for _, entry in ipairs(parked) do
  redis.call('RPUSH', KEYS[2], entry)
end
redis.call('HSET', KEYS[1], 'position', ARGV[3])
return failed
