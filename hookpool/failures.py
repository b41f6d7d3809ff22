"""Failed attempts: one sorted set per hook, scored by the attempt's epoch ms.

A hook with any entries is also listed in keys.FAILING_HOOKS, so the disable
pass visits only hooks that failed, however many hooks exist.
"""

from . import keys


def record_failure(pipe, hook_id, delivery_id, attempt, now_ms):
    """Queue, on pipe, the entry for one failed attempt. Members are unique per attempt."""
    pipe.zadd(keys.hook_failures(hook_id), {f"{now_ms}:{delivery_id}:{attempt}": now_ms})
    pipe.sadd(keys.FAILING_HOOKS, hook_id)


def count_recent(redis, hook_ids, expiry_ms, now_ms):
    """{hook_id: failures newer than now_ms - expiry_ms}, for many hooks in one round trip."""
    oldest_counted = f"({now_ms - expiry_ms}"
    with redis.pipeline(transaction=False) as pipe:
        for hook_id in hook_ids:
            pipe.zcount(keys.hook_failures(hook_id), oldest_counted, "+inf")
        return dict(zip(hook_ids, pipe.execute()))


def flush_hook(redis, hook_id):
    """Remove every failure entry of one hook; return how many there were."""
    return flush_hooks(redis, [hook_id])


def flush_hooks(redis, hook_ids):
    """Remove every failure entry of these hooks; return how many there were."""
    hook_ids = list(hook_ids)
    if not hook_ids:
        return 0
    with redis.pipeline() as pipe:
        for hook_id in hook_ids:
            pipe.zcard(keys.hook_failures(hook_id))
        pipe.delete(*[keys.hook_failures(h) for h in hook_ids])
        pipe.srem(keys.FAILING_HOOKS, *hook_ids)
        replies = pipe.execute()
    return sum(replies[:len(hook_ids)])


def failing_hook_ids(redis):
    return sorted(m.decode() for m in redis.smembers(keys.FAILING_HOOKS))
