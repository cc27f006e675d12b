-- Reads the global log from a position. KEYS: all. ARGV: first position, count.
return redis.call('XRANGE', KEYS[1], '0-' .. ARGV[1], '+', 'COUNT', ARGV[2])
