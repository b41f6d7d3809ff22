"""The registry at scale: many accounts with ten hooks each, failures, and what they cost.

Accounts are made with hookpool's own create_account. Hooks are written the
way hooks.create_hook writes them (the hash, the account's set, the index
sets), batched in pipelines: creating 100,000 hooks one call at a time would
make the benchmark wait a minute for nothing it measures.
"""

import statistics
import time

from hookpool import accounts, failures, keys
from hookpool.hooks import Hook
from hookpool.ids import new_id
from hookpool.scheduler.disable import disable_pass

HOOKS_PER_ACCOUNT = 10
WRITE_BATCH = 1000
# Below the default threshold (6), so that repeated passes find the same work and disable nothing.
FAILURES_PER_FAILING_HOOK = 3
PASS_REPEATS = 15
FAILURE_MEMORY_HOOKS = 10_000
FAILURES_PER_HOOK_FOR_MEMORY = 5
FAILURE_MEMORY_REPEATS = 3


class ScaleSetup:
    def __init__(self, redis, receiver_url):
        self.redis = redis
        self.receiver_url = receiver_url
        self.account_ids = []
        self.hook_ids = []

    def build(self, hook_count):
        """Create hook_count hooks, ten per account; return the Redis memory each hook costs, in bytes."""
        self.account_ids = [accounts.create_account(self.redis, f"tenant {n}").id
                            for n in range(max(1, hook_count // HOOKS_PER_ACCOUNT))]
        before = self._used_memory()
        self.hook_ids = []
        for start in range(0, hook_count, WRITE_BATCH):
            self._write_hooks(range(start, min(hook_count, start + WRITE_BATCH)))
        return (self._used_memory() - before) / hook_count

    def _write_hooks(self, numbers):
        now_ms = int(time.time() * 1000)
        with self.redis.pipeline(transaction=False) as pipe:
            for number in numbers:
                account_id = self.account_ids[number // HOOKS_PER_ACCOUNT]
                hook = Hook(id=new_id(), account_id=account_id, name=f"hook {number}",
                            uri=f"{self.receiver_url}/tenant/{number % HOOKS_PER_ACCOUNT}", hook="channel_create",
                            format="json", created_ms=now_ms, modified_ms=now_ms)
                pipe.hset(keys.hook(hook.id), mapping=hook.to_hash())
                pipe.sadd(keys.account_hooks(account_id), hook.id)
                for index_key in hook.index_keys():
                    pipe.sadd(index_key, hook.id)
                self.hook_ids.append(hook.id)
            pipe.execute()

    def add_failing(self, failing_count):
        """Give failing_count hooks, spread over the registry, failures below the threshold; return their ids."""
        failing = self.hook_ids[::max(1, len(self.hook_ids) // failing_count)][:failing_count]
        self._add_failures(failing, FAILURES_PER_FAILING_HOOK)
        return failing

    def disable_pass_ms(self):
        started = time.perf_counter()
        disable_pass(self.redis)
        return (time.perf_counter() - started) * 1000

    def remove_failures(self, hook_ids):
        failures.flush_hooks(self.redis, hook_ids)

    def failure_entry_bytes(self):
        """Redis memory per failure entry, the failing-hooks set included.

        The median of three fills: the fill that happens to take Redis's key
        table past a power of two (at 131,072 keys, 1 MiB more) would charge
        that doubling, which every key shares, to its 50,000 entries alone.
        """
        failing = self.hook_ids[:FAILURE_MEMORY_HOOKS]
        added = len(failing) * FAILURES_PER_HOOK_FOR_MEMORY
        per_entry_bytes = []
        for _ in range(FAILURE_MEMORY_REPEATS):
            before = self._used_memory()
            self._add_failures(failing, FAILURES_PER_HOOK_FOR_MEMORY)
            per_entry_bytes.append((self._used_memory() - before) / added)
            failures.flush_hooks(self.redis, failing)
        return statistics.median(per_entry_bytes)

    def _add_failures(self, hook_ids, per_hook):
        now_ms = int(time.time() * 1000)
        with self.redis.pipeline(transaction=False) as pipe:
            for hook_id in hook_ids:
                for attempt in range(1, per_hook + 1):
                    failures.record_failure(pipe, hook_id, new_id(), attempt, now_ms - attempt)
            pipe.execute()

    def _used_memory(self):
        """Redis's memory, less its clients' buffers: a big pipeline's query buffer is freed only seconds later."""
        memory = self.redis.info("memory")
        return memory["used_memory"] - memory["mem_clients_normal"]


def alternated_pass_ms(small, big, failing_count):
    """Median durations (ms) of disable passes over two registries, alternated so that drift hits both alike."""
    failing = {setup: setup.add_failing(failing_count) for setup in (small, big)}
    durations_ms = {small: [], big: []}
    for _ in range(PASS_REPEATS):
        for setup in (small, big):
            durations_ms[setup].append(setup.disable_pass_ms())
    for setup, hook_ids in failing.items():
        setup.remove_failures(hook_ids)
    return statistics.median(durations_ms[small]), statistics.median(durations_ms[big])
