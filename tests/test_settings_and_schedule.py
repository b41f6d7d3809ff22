"""Window settings (system and per account) and the disable pass's schedule."""

import pytest
from rq.job import Job
from rq_scheduler import Scheduler

from hookpool import defaults, queues, settings
from hookpool.errors import ValidationError
from hookpool.scheduler import schedule

ACCOUNT_ID = "1" * 32
SCHEDULED_JOBS = "rq:scheduler:scheduled_jobs"


def test_without_settings_the_defaults_apply(fake_redis):
    window = settings.effective_for(fake_redis, ACCOUNT_ID)

    assert (window.failure_expiry_ms, window.disable_threshold) == (60_000, 6)


def test_an_accounts_own_values_win_over_the_systems(fake_redis):
    settings.set_system(fake_redis, settings.FAILURE_EXPIRY_MS, 120_000)
    settings.set_system(fake_redis, settings.DISABLE_THRESHOLD, 10)
    settings.set_account(fake_redis, ACCOUNT_ID, settings.DISABLE_THRESHOLD, "3")

    mine = settings.effective_for(fake_redis, ACCOUNT_ID)
    others = settings.effective_for(fake_redis, "2" * 32)

    assert (mine.failure_expiry_ms, mine.disable_threshold) == (120_000, 3)
    assert (others.failure_expiry_ms, others.disable_threshold) == (120_000, 10)


def test_clearing_an_accounts_value_falls_back_to_the_systems(fake_redis):
    settings.set_account(fake_redis, ACCOUNT_ID, settings.FAILURE_EXPIRY_MS, 5_000)

    settings.clear_account(fake_redis, ACCOUNT_ID, settings.FAILURE_EXPIRY_MS)

    assert settings.effective_for(fake_redis, ACCOUNT_ID).failure_expiry_ms == 60_000
    assert settings.shortest_expiry_ms(fake_redis) == 60_000


@pytest.mark.parametrize(("name", "value"), [
    (settings.FAILURE_EXPIRY_MS, 0),
    (settings.FAILURE_EXPIRY_MS, -1),
    (settings.FAILURE_EXPIRY_MS, defaults.MAX_FAILURE_EXPIRY_MS + 1),
    (settings.FAILURE_EXPIRY_MS, "sixty"),
    (settings.FAILURE_EXPIRY_MS, "1.5"),
    (settings.DISABLE_THRESHOLD, 0),
    (settings.DISABLE_THRESHOLD, defaults.MAX_DISABLE_THRESHOLD + 1),
    (settings.DISABLE_THRESHOLD, ""),
])
def test_a_bad_setting_value_is_refused_naming_the_setting_and_nothing_is_written(fake_redis, name, value):
    with pytest.raises(ValidationError) as refused:
        settings.set_account(fake_redis, ACCOUNT_ID, name, value)

    assert refused.value.field == name
    assert fake_redis.keys("hookpool:*") == []


def test_an_unknown_setting_is_refused(fake_redis):
    with pytest.raises(ValidationError) as refused:
        settings.set_system(fake_redis, "failure_expiry", 1000)

    assert refused.value.field == "setting"


def test_the_shortest_window_anywhere_is_found(fake_redis):
    settings.set_account(fake_redis, ACCOUNT_ID, settings.FAILURE_EXPIRY_MS, 8_000)
    settings.set_account(fake_redis, "2" * 32, settings.FAILURE_EXPIRY_MS, 30_000)

    assert settings.shortest_expiry_ms(fake_redis) == 8_000


@pytest.mark.parametrize(("expiry_ms", "interval_s"), [
    (60_000, 15), (8_000, 2), (4_000, 1), (1_000, 1), (1, 1), (3_600_000, 300), (10**9, 300),
])
def test_the_pass_runs_about_every_quarter_window_within_bounds(expiry_ms, interval_s):
    assert schedule.interval_for(expiry_ms) == interval_s


def scheduled_pass(redis):
    return Job.fetch(schedule.JOB_ID, connection=redis)


def test_registering_the_pass_twice_leaves_one_schedule_entry(fake_redis):
    scheduler = Scheduler(queue_name=queues.MAINTENANCE, connection=fake_redis)

    schedule.register(scheduler)
    schedule.register(Scheduler(queue_name=queues.MAINTENANCE, connection=fake_redis))

    assert fake_redis.zrange(SCHEDULED_JOBS, 0, -1) == [schedule.JOB_ID.encode()]
    job = scheduled_pass(fake_redis)
    assert job.func_name == "hookpool.scheduler.disable.run_disable_pass"
    assert job.origin == queues.MAINTENANCE
    assert job.meta["interval"] == 15


def test_a_shorter_account_window_reschedules_the_pass_faster_with_still_one_entry(fake_redis):
    scheduler = Scheduler(queue_name=queues.MAINTENANCE, connection=fake_redis)
    schedule.register(scheduler)

    settings.set_account(fake_redis, ACCOUNT_ID, settings.FAILURE_EXPIRY_MS, 8_000)
    interval_s = schedule.register(scheduler)

    assert interval_s == 2
    assert fake_redis.zcard(SCHEDULED_JOBS) == 1
    assert scheduled_pass(fake_redis).meta["interval"] == 2
