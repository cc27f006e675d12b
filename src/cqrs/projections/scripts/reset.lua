-- Back to 0 with no parked events, generation bumped. KEYS: checkpoint, parked. Returns the generation.
redis.call('DEL', KEYS[2])
redis.call('HDEL', KEYS[1], 'position')
return redis.call('HINCRBY', KEYS[1], 'generation', 1)
