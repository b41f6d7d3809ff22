"""hookpool's benchmark: every figure of issue 5, each as a ratio against a baseline of the same run.

    python -m bench            # the full run, about fifteen minutes on two cores
    python -m bench --quick    # smaller counts (fewer jobs, 20,000 hooks instead of 100,000)

It starts its own redis-server on a free port and its own HTTP receiver (a
process of its own answering 200 on keep-alive connections), and stops them at
the end. The machine may be shared and noisy: absolute rates drift from run
to run, the ratios hold better, so every goal is a ratio measured minutes apart
at most.

Rates are measured from the moment the first job leaves its queue to the moment
the last one is done (for hookpool: the last delivery reached the receiver),
so process start-up is not counted but fan-out is.
"""

import argparse
import os
import platform
import random
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))  # `python bench/run.py` from anywhere

# The receiver listens on loopback, which hookpool refuses unless allowed.
os.environ["HOOKPOOL_ALLOW_NETWORKS"] = "127.0.0.0/8"

import rq  # noqa: E402
from rq import Queue  # noqa: E402

from bench import servers  # noqa: E402
from bench.scale import ScaleSetup, alternated_pass_ms  # noqa: E402
from hookpool import accounts, hooks, queues  # noqa: E402
from hookpool.publishing import publish  # noqa: E402

HOOKS_PER_EVENT = 10
SAMPLE_EVENT = {
    "hook_event": "channel_create",
    "call_direction": "inbound",
    "call_id": "NDlkNGI3OTZlMDgzNWQxNGYxNTA3NjQ4NDZjNDFkOTc",
    "caller_id_name": "Test Man",
    "caller_id_number": "+15556783945",
    "callee_id_number": "+15556783945",
    "from": "+15556783945@sip.example.net",
    "to": "+14158867900@sip.example.net",
    "request": "+14158867900@sip.example.net",
    "timestamp": 63738384000,
    "is_internal_leg": False,
}
POLL_S = 0.002
PUBLISH_REPEATS = 5
ONE_PER_CALL_EVENTS = 1000
DRAIN_TIMEOUT_S = 300


@dataclass(frozen=True)
class Sizes:
    rounds: int  # goals 1, 2 and 4 alternate baseline and hookpool this many times; the median ratio is reported
    noop_jobs: int
    naive_jobs: int
    events: int  # each fans out to HOOKS_PER_EVENT deliveries
    published_events: int
    scale_hooks: int
    small_hooks: int
    latency_s: float


FULL = Sizes(rounds=5, noop_jobs=2000, naive_jobs=500, events=300, published_events=10_000,
             scale_hooks=100_000, small_hooks=100, latency_s=10)
QUICK = Sizes(rounds=1, noop_jobs=1000, naive_jobs=150, events=120, published_events=10_000,
              scale_hooks=20_000, small_hooks=100, latency_s=4)


class Bench:
    """One run: the servers, the sizes, and the figures found so far."""

    def __init__(self, folder, sizes):
        self.folder = Path(folder)
        self.sizes = sizes
        self.redis_server = servers.RedisServer(self.folder).start()
        self.receiver = servers.Receiver(self.folder).start()
        self.redis = self.redis_server.client()
        self.lines = []

    def stop(self):
        self.receiver.stop()
        self.redis_server.stop()

    @contextmanager
    def using(self, redis_server):
        """Run what the block measures against another redis-server of the run's."""
        saved = self.redis_server, self.redis
        self.redis_server, self.redis = redis_server, redis_server.client()
        try:
            yield
        finally:
            self.redis_server, self.redis = saved

    def fresh(self):
        # Safe: this redis-server was started by this run, on a port it chose.
        self.redis.flushall()

    # --- measuring a drain ----------------------------------------------------------

    def drain_rate(self, workers_command, worker_count, queue_name, target, done_count, env=None):
        """Start workers on a filled queue; return (items per second, Redis commands per item)."""
        queue_key = Queue(queue_name, connection=self.redis).key
        initial = self.redis.llen(queue_key)
        self.redis.config_resetstat()
        workers = servers.Workers(workers_command, worker_count, self.folder / "workers.log", env)
        try:
            started = self._wait_first_taken(queue_key, initial)
            done_at = self._wait_done(done_count, target)
        finally:
            workers.stop()
        commands = sum(v["calls"] for v in self.redis.info("commandstats").values())
        return target / (done_at - started), commands / target

    def _wait_first_taken(self, queue_key, initial):
        deadline = time.monotonic() + 60
        while self.redis.llen(queue_key) >= initial:
            if time.monotonic() > deadline:
                raise RuntimeError(f"no worker took a job from {queue_key} within 60 s; see {self.folder}")
            time.sleep(POLL_S)
        return time.monotonic()

    def _wait_done(self, done_count, target):
        deadline = time.monotonic() + DRAIN_TIMEOUT_S
        while done_count() < target:
            if time.monotonic() > deadline:
                raise RuntimeError(f"only {done_count()} of {target} done after {DRAIN_TIMEOUT_S} s")
            time.sleep(0.01)
        return time.monotonic()

    # --- the baselines ------------------------------------------------------------

    def simple_worker_noop_rate(self):
        self.fresh()
        queue = Queue("bench-noop", connection=self.redis)
        queue.enqueue_many([Queue.prepare_data("bench.jobs.noop") for _ in range(self.sizes.noop_jobs)])
        finished = queue.finished_job_registry.key
        command = servers.rq_worker_command(self.redis_server.url, queue.name, "rq.worker.SimpleWorker")
        return self.drain_rate(command, 1, queue.name, self.sizes.noop_jobs, lambda: self.redis.zcard(finished))

    def naive_sender_rate(self):
        self.fresh()
        queue = Queue("bench-naive", connection=self.redis)
        url = self.receiver.url + "/naive"
        payload = dict(SAMPLE_EVENT, account_id="0" * 32)
        queue.enqueue_many([Queue.prepare_data("bench.jobs.naive_send", args=(url, payload))
                            for _ in range(self.sizes.naive_jobs)])
        counted = self.receiver.count()
        command = servers.rq_worker_command(self.redis_server.url, queue.name)
        return self.drain_rate(command, 1, queue.name, self.sizes.naive_jobs,
                               lambda: self.receiver.count() - counted)

    # --- hookpool --------------------------------------------------------------------

    def ten_hook_account(self, name="bench"):
        account = accounts.create_account(self.redis, name)
        for number in range(HOOKS_PER_EVENT):
            hooks.create_hook(self.redis, account.id, {
                "name": f"hook {number}", "uri": f"{self.receiver.url}/hook/{number}",
                "hook": "channel_create", "format": "json",
            })
        return account.id

    def hookpool_rate(self, worker_count, account_ids, events):
        """Deliveries per second of worker_count hookpool workers, fan-out included."""
        publish(self.redis, [dict(SAMPLE_EVENT, account_id=random.choice(account_ids)) for _ in range(events)])
        target = events * HOOKS_PER_EVENT
        counted = self.receiver.count()
        env = servers.hookpool_worker_env(self.redis_server.url)
        return self.drain_rate(servers.hookpool_worker_command(), worker_count, queues.EVENTS, target,
                               lambda: self.receiver.count() - counted, env)

    def fresh_hookpool_rate(self, worker_count):
        self.fresh()
        return self.hookpool_rate(worker_count, [self.ten_hook_account()], self.sizes.events)

    def latency_ms(self, deliveries_per_s):
        """(p50, p99, samples) in ms from publish to arrival, publishing at deliveries_per_s."""
        self.fresh()
        account_id = self.ten_hook_account()
        workers = servers.Workers(servers.hookpool_worker_command(), 1, self.folder / "workers.log",
                                  servers.hookpool_worker_env(self.redis_server.url))
        try:
            self._publish_and_wait(account_id)  # warm-up: the worker has started and imported everything
            self.receiver.take_latencies_ms()
            before = self.receiver.count()
            published = self._publish_paced(account_id, deliveries_per_s / HOOKS_PER_EVENT)
            self._wait_done(self.receiver.count, before + published * HOOKS_PER_EVENT)
            latencies = sorted(self.receiver.take_latencies_ms())
        finally:
            workers.stop()
        return _percentile(latencies, 50), _percentile(latencies, 99), len(latencies)

    def _publish_and_wait(self, account_id):
        before = self.receiver.count()
        publish(self.redis, [dict(SAMPLE_EVENT, account_id=account_id)])
        self._wait_done(self.receiver.count, before + HOOKS_PER_EVENT)

    def _publish_paced(self, account_id, events_per_s):
        interval_s = 1 / events_per_s
        started = time.monotonic()
        published = 0
        while time.monotonic() - started < self.sizes.latency_s:
            due = started + published * interval_s
            time.sleep(max(0.0, due - time.monotonic()))
            publish(self.redis, [dict(SAMPLE_EVENT, account_id=account_id, bench_published_s=time.time())])
            published += 1
        return published

    def publish_rates(self):
        """(events/s published in one call, no-op jobs/s enqueued by one enqueue_many, fan-out jobs of that call)."""
        count = self.sizes.published_events
        self.fresh()
        events = self._publisher_events(count)
        queue = Queue("bench-enqueue", connection=self.redis)

        publish_times_s, enqueue_times_s = [], []
        for _ in range(PUBLISH_REPEATS):  # alternated, so that a drift of the machine hits both alike
            publish_times_s.append(_timed(lambda: publish(self.redis, events), self._drop_queues))
            enqueue_times_s.append(_timed(lambda: queue.enqueue_many(
                [Queue.prepare_data("bench.jobs.noop") for _ in range(count)]), self._drop_queues))

        self._drop_queues()
        publish(self.redis, events)
        fan_out_jobs = Queue(queues.EVENTS, connection=self.redis).count
        return count / min(publish_times_s), count / min(enqueue_times_s), fan_out_jobs

    def one_event_per_call_rate(self, count):
        """Events/s published one per publish() call: every event pays for a fan-out job of its own."""
        self.fresh()
        events = self._publisher_events(count)
        best_s = min(_timed(lambda: [publish(self.redis, [event]) for event in events], self._drop_queues)
                     for _ in range(PUBLISH_REPEATS))
        return count / best_s

    def _publisher_events(self, count):
        account_ids = [accounts.create_account(self.redis, f"publisher {n}").id for n in range(100)]
        return [dict(SAMPLE_EVENT, account_id=account_ids[n % 100]) for n in range(count)]

    def _drop_queues(self):
        with self.redis.pipeline(transaction=False) as pipe:
            for key in self.redis.scan_iter("rq:*", count=1000):
                pipe.delete(key)  # not UNLINK: freeing in the background would slow the next measurement
            pipe.execute()


def _timed(action, before):
    before()
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def _percentile(sorted_values, percent):
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, int(round(percent / 100 * (len(sorted_values) - 1))))
    return sorted_values[index]


# --- the report -------------------------------------------------------------------

def machine_lines(bench):
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return [
        f"machine: {os.cpu_count()} CPUs ({model}), Python {platform.python_version()}, "
        f"Redis {bench.redis_server.version()}, rq {rq.__version__}",
    ]


def ratio_line(title, value, unit, baseline, baseline_title, goal_text, met):
    ratio = value / baseline if baseline else float("nan")
    verdict = "met" if met(ratio) else "NOT met"
    return (f"{title}: {value:,.0f} {unit} vs {baseline_title} {baseline:,.0f} {unit} "
            f"= {ratio:.2f}x (goal {goal_text}: {verdict})")


def say(line):
    print(line, flush=True)


def run(bench):
    sizes = bench.sizes
    for line in machine_lines(bench):
        say(line)
    say(f"sizes: {sizes}")
    say("")

    one_rate = run_goals_one_and_two(bench, sizes)

    publish_rate, enqueue_rate, fan_out_jobs = bench.publish_rates()
    say("3. " + ratio_line(f"publishing {sizes.published_events:,} events in one call ({fan_out_jobs} fan-out jobs)",
                           publish_rate, "/s", enqueue_rate, "enqueue_many of no-op jobs", ">= 0.8x",
                           lambda r: r >= 0.8))
    single_rate = bench.one_event_per_call_rate(ONE_PER_CALL_EVENTS)
    say(f"   for comparison, {ONE_PER_CALL_EVENTS:,} events published one per call: {single_rate:,.0f} events/s "
        f"= {single_rate / enqueue_rate:.2f}x the enqueue_many rate (a round trip and a fan-out job each)")

    run_scale(bench, sizes)

    p50, p99, samples = bench.latency_ms(one_rate / 2)
    say(f"5. latency publish -> arrival at {one_rate / 2:,.0f} deliveries/s (half of saturation), "
        f"{samples} deliveries: p50 {p50:.1f} ms, p99 {p99:.1f} ms")

    rates = {count: bench.fresh_hookpool_rate(count)[0] for count in (1, 2, 4)}
    say("6. deliveries/s by worker processes: " + ", ".join(
        f"{count}: {rate:,.0f} ({rate / rates[1]:.2f}x)" for count, rate in rates.items()))


def run_goals_one_and_two(bench, sizes):
    """Alternate the baselines and hookpool, so that a drift of the machine's speed hits all alike.

    Returns hookpool's one-worker rate of the median round of goal 1.
    """
    rounds = []
    for number in range(1, sizes.rounds + 1):
        simple_rate, simple_commands = bench.simple_worker_noop_rate()
        one_rate, one_commands = bench.fresh_hookpool_rate(1)
        naive_rate, naive_commands = bench.naive_sender_rate()
        rounds.append((simple_rate, one_rate, naive_rate))
        say(f"round {number}: rq SimpleWorker, no-op jobs: {simple_rate:,.0f} jobs/s "
            f"({simple_commands:.1f} Redis commands per job); hookpool, 1 worker: {one_rate:,.0f} deliveries/s "
            f"({one_commands:.1f} Redis commands per delivery, fan-out to {HOOKS_PER_EVENT} hooks included); "
            f"naive RQ sender (forking rq worker, requests.post per job): {naive_rate:,.0f} deliveries/s "
            f"({naive_commands:.1f} Redis commands per job)")

    simple_rate, one_rate, _ = _median_round(rounds, lambda r: r[1] / r[0])
    say("1. " + ratio_line("hookpool worker", one_rate, "/s", simple_rate, "SimpleWorker no-op", ">= 1.0x",
                           lambda r: r >= 1.0) + _median_note(rounds))
    _, naive_one_rate, naive_rate = _median_round(rounds, lambda r: r[1] / r[2])
    say("2. " + ratio_line("hookpool worker", naive_one_rate, "/s", naive_rate, "naive sender", ">= 5x",
                           lambda r: r >= 5.0) + _median_note(rounds))
    return one_rate


def _median_round(rounds, ratio):
    return sorted(rounds, key=ratio)[len(rounds) // 2]


def _median_note(rounds):
    return " (median round)" if len(rounds) > 1 else ""


def run_scale(bench, sizes):
    """Goal 4: the big registry lives in a second redis-server, so the ten-hook and big rates can alternate."""
    bench.fresh()
    small = ScaleSetup(bench.redis, bench.receiver.url)
    small.build(sizes.small_hooks)

    big_server = servers.RedisServer(bench.folder / "big-registry").start()
    try:
        with bench.using(big_server):
            scale = ScaleSetup(bench.redis, bench.receiver.url)
            per_hook_bytes = scale.build(sizes.scale_hooks)
            per_failure_bytes = scale.failure_entry_bytes()
        small_pass_ms, big_pass_ms = alternated_pass_ms(small, scale, sizes.small_hooks)

        rounds = []
        for number in range(1, sizes.rounds + 1):
            small_rate, _ = bench.fresh_hookpool_rate(1)
            with bench.using(big_server):
                big_rate, _ = bench.hookpool_rate(1, scale.account_ids, sizes.events)
            rounds.append((small_rate, big_rate))
            say(f"round {number}: with {HOOKS_PER_EVENT} hooks {small_rate:,.0f} deliveries/s, "
                f"with {sizes.scale_hooks:,} hooks {big_rate:,.0f} deliveries/s")
    finally:
        big_server.stop()

    small_rate, big_rate = _median_round(rounds, lambda r: r[1] / r[0])
    say("4. " + ratio_line(f"with {sizes.scale_hooks:,} hooks", big_rate, "deliveries/s", small_rate,
                           f"with {HOOKS_PER_EVENT} hooks", ">= 0.9x", lambda r: r >= 0.9) + _median_note(rounds))
    say(f"4. disable pass, {sizes.small_hooks} hooks with failures among {sizes.scale_hooks:,}: "
        f"{big_pass_ms:.1f} ms vs among {sizes.small_hooks}: {small_pass_ms:.1f} ms "
        f"= {big_pass_ms / small_pass_ms:.2f}x (goal <= 2x: {'met' if big_pass_ms <= 2 * small_pass_ms else 'NOT met'})")
    say(f"4. Redis memory: {per_hook_bytes:,.0f} bytes per hook (aim < 1024: "
        f"{'met' if per_hook_bytes < 1024 else 'NOT met'}), {per_failure_bytes:,.0f} bytes per failure entry "
        f"(aim < 120: {'met' if per_failure_bytes < 120 else 'NOT met'})")


def _show_worker_log(path, lines=20):
    if path.exists():
        say(f"last lines of the workers' log:")
        for line in path.read_text(errors="replace").splitlines()[-lines:]:
            say("  " + line)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller counts: about two minutes instead of five")
    options = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="hookpool-bench-") as folder:
        bench = Bench(folder, QUICK if options.quick else FULL)
        try:
            run(bench)
        except RuntimeError as exc:
            say(f"benchmark failed: {exc}")
            _show_worker_log(Path(folder) / "workers.log")
            sys.exit(1)
        finally:
            bench.stop()


if __name__ == "__main__":
    main()
