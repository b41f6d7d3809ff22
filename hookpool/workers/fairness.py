"""The fairness cap: one hook may hold only a share of the delivery workers at once.

Without it, a backlog for one dead hook (a receiver that hangs until the
deadline) would fill every worker with attempts that each last the whole
deadline, and the healthy hooks queued behind it would wait for the backlog.

Each hook has a sorted set of the deliveries being attempted for it
(keys.hook_in_flight), each scored by the end of its lease. A delivery claims a
place before it connects and gives it back when the attempt is over; a worker
that dies mid-attempt leaves its entry behind only until the lease ends. Claims
are one Lua call, so two workers cannot both take the last place.

The cap is max(1, floor(share x workers listening on the delivery queue)), read
in the same call, so it follows the pool as workers come and go. Workers that
died without deregistering are counted until RQ's maintenance pass drops them.
"""

import math
import time

from rq.worker_registration import WORKERS_BY_QUEUE_KEY

from .. import keys, queues

# KEYS: the hook's in-flight set, RQ's set of workers on the delivery queue.
# ARGV: now (epoch ms), lease end (epoch ms), delivery id, share of workers, lease (ms).
# The key's own expiry is relative (PEXPIRE), so that it follows Redis's clock, not ours.
_CLAIM = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if not redis.call('ZSCORE', KEYS[1], ARGV[3]) then
    local cap = math.max(1, math.floor(tonumber(ARGV[4]) * redis.call('SCARD', KEYS[2])))
    if redis.call('ZCARD', KEYS[1]) >= cap then
        return 0
    end
end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return 1
"""

_DELIVERY_WORKERS = WORKERS_BY_QUEUE_KEY % queues.DELIVERIES


def claim(redis, hook_id, delivery_id, share, lease_s, now_ms=None):
    """Take a place for delivery_id among hook_id's attempts; False if the hook holds its share already.

    A delivery that holds a place already (run again after its worker died)
    keeps it rather than counting twice.
    """
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    lease_ms = math.ceil(lease_s * 1000)
    script = redis.register_script(_CLAIM)
    claimed = script(keys=[keys.hook_in_flight(hook_id), _DELIVERY_WORKERS],
                     args=[now_ms, now_ms + lease_ms, delivery_id, share, lease_ms])
    return bool(claimed)


def release(redis, hook_id, delivery_id):
    """Give the place back once the attempt is over, whatever its outcome."""
    redis.zrem(keys.hook_in_flight(hook_id), delivery_id)


def in_flight(redis, hook_id, now_ms=None):
    """How many deliveries of hook_id hold a place now."""
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    return redis.zcount(keys.hook_in_flight(hook_id), f"({now_ms}", "+inf")
