"""The Lua scripts that change the shared points budget (shared_budget.py) atomically.

Redis runs one script at a time, so each is one indivisible step for every process. The rules
are PointsBucket's (ratelimit.py), written once more in Lua, with one more at a refill: points
taken just before it (`carry`) and points still in flight at it come off the new window, since
a request that leaves in the last second of a window may be charged to the next one.

State: a hash (KEYS[1]: limit, balance, refill_at, known, carry) and a sorted set of the
reservations in flight (KEYS[2]: member "<id>:<points>", score the end of its lease). Every
script takes the same first arguments: ARGV[1] now (empty: Redis's clock), ARGV[2..5] limit,
available points, seconds to the refill and known (1/0) of a budget that does not exist yet,
ARGV[6] the keys' lifetime in seconds.
"""

from kraken_pipeline.kraken.ratelimit import (
    REFILL_MARGIN_SECONDS,
    SAME_WINDOW_SECONDS,
    WINDOW_SECONDS,
)

# Kraken's `ttl` is a whole second and clocks differ a little: a request sent this close before
# the refill the budget awaits may be charged to the next window, so it is charged to both.
TWILIGHT_SECONDS = 2 * REFILL_MARGIN_SECONDS

# Numbers stay strings on the way in and out: Redis would truncate a Lua number to an integer.
_LUA_COMMON = f"""
local WINDOW, MARGIN, SAME_WINDOW = {WINDOW_SECONDS}, {REFILL_MARGIN_SECONDS}, {SAME_WINDOW_SECONDS}
local TWILIGHT = {TWILIGHT_SECONDS}
local now = tonumber(ARGV[1])
if not now then
  local time = redis.call('TIME')
  now = tonumber(time[1]) + tonumber(time[2]) / 1e6
end
local function load()
  local v = redis.call('HMGET', KEYS[1], 'limit', 'balance', 'refill_at', 'known', 'carry')
  if v[1] then
    return {{limit = tonumber(v[1]), balance = tonumber(v[2]), refill_at = tonumber(v[3]),
            known = tonumber(v[4]), carry = tonumber(v[5])}}
  end
  local limit = tonumber(ARGV[2])
  return {{limit = limit, balance = math.min(tonumber(ARGV[3]), limit),
          refill_at = now + math.max(0, tonumber(ARGV[4])), known = tonumber(ARGV[5]), carry = 0}}
end
local function in_flight()
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. string.format('%.3f', now))
  local total = 0
  for _, member in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
    total = total + tonumber(string.match(member, ':(%d+)$'))
  end
  return total
end
local function roll(b)
  if now < b.refill_at then return end
  local windows = math.floor((now - b.refill_at) / WINDOW) + 1
  b.refill_at = b.refill_at + windows * WINDOW
  -- What was sent around the refill, or is still on its way, may be charged to the new window.
  local carried = in_flight()
  if windows == 1 then carried = carried + b.carry end
  b.balance, b.carry = math.max(0, b.limit - carried), 0
end
local function save(b)
  redis.call('HSET', KEYS[1], 'limit', string.format('%d', b.limit),
             'balance', string.format('%d', b.balance),
             'refill_at', string.format('%.3f', b.refill_at), 'known', string.format('%d', b.known),
             'carry', string.format('%d', b.carry))
  redis.call('EXPIRE', KEYS[1], ARGV[6])
  redis.call('EXPIRE', KEYS[2], ARGV[6])
end
"""

# ARGV[7] points, ARGV[8] reservation, ARGV[9] lease seconds, ARGV[10] the published allowance.
TAKE = (
    _LUA_COMMON
    + """
local b = load()
roll(b)
local points = tonumber(ARGV[7])
local verdict = 'taken'
if b.balance < points and points <= b.limit then
  if b.known == 1 then
    save(b)
    return {'refill', string.format('%.3f', b.refill_at - now)}
  end
  if in_flight() > 0 then
    save(b)
    return {'reading'}
  end
  b.limit, b.balance, b.known, verdict = tonumber(ARGV[10]), tonumber(ARGV[10]), 1, 'assumed'
end
b.balance = b.balance - points
if now >= b.refill_at - TWILIGHT then b.carry = b.carry + points end
if points > 0 then
  redis.call('ZADD', KEYS[2], string.format('%.3f', now + tonumber(ARGV[9])), ARGV[8])
end
save(b)
return {verdict}
"""
)

# ARGV[7] reservation or '', ARGV[8] '1' with a reading: ARGV[9..12] limit, remaining, blocked,
# seconds from now to the refill the answer reported.
SETTLE = (
    _LUA_COMMON
    + """
local b = load()
if ARGV[7] ~= '' then redis.call('ZREM', KEYS[2], ARGV[7]) end
local refill_in = tonumber(ARGV[12])
-- A reading whose refill has come says nothing of the window now open.
if ARGV[8] == '1' and refill_in > 0 then
  local limit = tonumber(ARGV[9])
  local refill_at = now + refill_in + MARGIN
  local left = 0
  if ARGV[11] ~= '1' then left = tonumber(ARGV[10]) - in_flight() end
  left = math.max(0, math.min(left, limit))
  if b.known == 1 and math.abs(refill_at - b.refill_at) < SAME_WINDOW then
    -- Answers arrive out of order: within one window the lowest figure is the latest.
    left = math.min(left, b.balance)
  else
    b.carry = 0  -- the reading already counts what reached its window
  end
  b.limit, b.balance, b.refill_at, b.known = limit, left, refill_at, 1
end
save(b)
return 'settled'
"""
)

AVAILABLE = (
    _LUA_COMMON
    + """
local b = load()
roll(b)
save(b)
return string.format('%d', b.balance)
"""
)
