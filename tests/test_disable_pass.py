"""The prune-and-disable pass, on the worked example: a 60 000 ms window and a threshold of 6."""

import logging

import pytest

from hookpool import accounts, failures, hooks, keys, settings
from hookpool.scheduler.disable import disable_pass

NOW_MS = 1_700_000_000_000
ACCOUNT_ID = "1" * 32
OTHER_ACCOUNT_ID = "2" * 32


@pytest.fixture
def redis(fake_redis):
    accounts.create_account(fake_redis, "tenant", account_id=ACCOUNT_ID)
    accounts.create_account(fake_redis, "other tenant", account_id=OTHER_ACCOUNT_ID)
    return fake_redis


def new_hook(redis, account_id=ACCOUNT_ID, name="calls"):
    return hooks.create_hook(redis, account_id, {"name": name, "uri": "https://93.184.215.14/h", "hook": "all"})


def fail(redis, hook, *ages_ms):
    """Record one failed attempt of hook for each age, in milliseconds before NOW_MS."""
    with redis.pipeline() as pipe:
        for attempt, age_ms in enumerate(ages_ms, start=1):
            failures.record_failure(pipe, hook.id, f"delivery{age_ms}", attempt, NOW_MS - age_ms)
        pipe.execute()


def reloaded(redis, hook):
    return hooks.get_hook(redis, hook.id)


def test_six_failures_within_the_last_minute_disable_the_hook(redis):
    hook = new_hook(redis)
    fail(redis, hook, 59_000, 50_000, 40_000, 30_000, 20_000, 1_000)

    report = disable_pass(redis, now_ms=NOW_MS)

    assert report.hooks_disabled == [hook.id]
    disabled = reloaded(redis, hook)
    assert disabled.enabled is False
    assert disabled.disabled_by == "system"
    assert disabled.disabled_reason == "too many failed attempts"
    assert disabled.modified_ms == NOW_MS


def test_five_failures_within_the_last_minute_do_not(redis):
    hook = new_hook(redis)
    fail(redis, hook, 50_000, 40_000, 30_000, 20_000, 1_000)

    report = disable_pass(redis, now_ms=NOW_MS)

    assert report.hooks_disabled == []
    assert reloaded(redis, hook).enabled is True
    assert redis.zcard(keys.hook_failures(hook.id)) == 5


def test_failures_older_than_the_window_never_count(redis):
    hook = new_hook(redis)
    fail(redis, hook, 30_000, 20_000, 10_000, 5_000, 1_000)
    fail(redis, hook, 60_001, 61_000, 90_000, 3_600_000, 86_400_000)

    report = disable_pass(redis, now_ms=NOW_MS)

    assert report.hooks_disabled == []
    assert reloaded(redis, hook).enabled is True


def test_a_failure_just_inside_the_window_counts(redis):
    hook = new_hook(redis)
    fail(redis, hook, 59_999, 40_000, 30_000, 20_000, 10_000, 0)

    assert disable_pass(redis, now_ms=NOW_MS).hooks_disabled == [hook.id]


def test_the_pass_prunes_expired_failures_and_keeps_recent_ones(redis):
    hook = new_hook(redis)
    fail(redis, hook, 120_000, 70_000, 1_000)

    disable_pass(redis, now_ms=NOW_MS)

    remaining = redis.zrange(keys.hook_failures(hook.id), 0, -1, withscores=True)
    assert [score for _, score in remaining] == [NOW_MS - 1_000]


def test_a_hook_whose_failures_all_expired_is_no_longer_visited(redis):
    hook = new_hook(redis)
    fail(redis, hook, 120_000, 90_000)

    disable_pass(redis, now_ms=NOW_MS)

    assert not redis.exists(keys.hook_failures(hook.id))
    assert failures.failing_hook_ids(redis) == []
    assert disable_pass(redis, now_ms=NOW_MS).hooks_checked == 0


def test_a_pass_disables_a_hook_once_and_clears_its_failures(redis):
    hook = new_hook(redis)
    fail(redis, hook, 6_000, 5_000, 4_000, 3_000, 2_000, 1_000)

    first = disable_pass(redis, now_ms=NOW_MS)
    second = disable_pass(redis, now_ms=NOW_MS + 1)

    assert first.hooks_disabled == [hook.id]
    assert second.hooks_disabled == []
    assert redis.zcard(keys.hook_failures(hook.id)) == 0
    assert failures.failing_hook_ids(redis) == []


def test_the_disable_is_logged_as_a_warning_naming_the_hook(redis, caplog):
    hook = new_hook(redis)
    fail(redis, hook, 6_000, 5_000, 4_000, 3_000, 2_000, 1_000)

    with caplog.at_level(logging.WARNING, logger="hookpool"):
        disable_pass(redis, now_ms=NOW_MS)

    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(hook.id in message and "too many failed attempts" in message for message in warnings)


def test_an_account_expiry_overrides_the_system_one_for_that_account_only(redis):
    settings.set_account(redis, ACCOUNT_ID, settings.FAILURE_EXPIRY_MS, 10_000)
    short_window = new_hook(redis, ACCOUNT_ID)
    default_window = new_hook(redis, OTHER_ACCOUNT_ID)
    six_failures_20_to_25_s_ago = (25_000, 24_000, 23_000, 22_000, 21_000, 20_000)
    fail(redis, short_window, *six_failures_20_to_25_s_ago)
    fail(redis, default_window, *six_failures_20_to_25_s_ago)

    report = disable_pass(redis, now_ms=NOW_MS)

    assert report.hooks_disabled == [default_window.id]
    assert reloaded(redis, short_window).enabled is True


def test_an_account_threshold_overrides_the_system_one_for_that_account_only(redis):
    settings.set_account(redis, ACCOUNT_ID, settings.DISABLE_THRESHOLD, 2)
    low_threshold = new_hook(redis, ACCOUNT_ID)
    default_threshold = new_hook(redis, OTHER_ACCOUNT_ID)
    fail(redis, low_threshold, 2_000, 1_000)
    fail(redis, default_threshold, 2_000, 1_000)

    report = disable_pass(redis, now_ms=NOW_MS)

    assert report.hooks_disabled == [low_threshold.id]
    assert reloaded(redis, default_threshold).enabled is True


def test_system_settings_replace_the_defaults_and_account_settings_win_over_them(redis):
    settings.set_system(redis, settings.DISABLE_THRESHOLD, 3)
    settings.set_account(redis, OTHER_ACCOUNT_ID, settings.DISABLE_THRESHOLD, 10)
    system_governed = new_hook(redis, ACCOUNT_ID)
    account_governed = new_hook(redis, OTHER_ACCOUNT_ID)
    fail(redis, system_governed, 3_000, 2_000, 1_000)
    fail(redis, account_governed, 3_000, 2_000, 1_000)

    report = disable_pass(redis, now_ms=NOW_MS)

    assert report.hooks_disabled == [system_governed.id]


def test_a_hook_disabled_by_the_operator_keeps_that_attribution(redis):
    hook = new_hook(redis)
    hooks.set_enabled(redis, hook.id, False)
    fail(redis, hook, 6_000, 5_000, 4_000, 3_000, 2_000, 1_000)

    report = disable_pass(redis, now_ms=NOW_MS)

    assert report.hooks_disabled == []
    assert reloaded(redis, hook).disabled_by == "operator"


def test_a_hook_enabled_again_starts_from_a_clean_slate(redis):
    hook = new_hook(redis)
    fail(redis, hook, 6_000, 5_000, 4_000, 3_000, 2_000, 1_000)
    disable_pass(redis, now_ms=NOW_MS)

    hooks.set_enabled(redis, hook.id, True)
    fail(redis, hook, 500)

    assert disable_pass(redis, now_ms=NOW_MS).hooks_disabled == []
    assert reloaded(redis, hook).enabled is True


def test_repeated_failures_of_one_attempt_count_once(redis):
    hook = new_hook(redis)
    with redis.pipeline() as pipe:
        for _ in range(6):
            failures.record_failure(pipe, hook.id, "same-delivery", 1, NOW_MS - 1_000)
        pipe.execute()

    assert redis.zcard(keys.hook_failures(hook.id)) == 1
    assert disable_pass(redis, now_ms=NOW_MS).hooks_disabled == []


def test_the_failure_window_lives_under_the_documented_redis_keys(redis):
    hook = new_hook(redis)
    fail(redis, hook, 1_000)
    settings.set_system(redis, settings.DISABLE_THRESHOLD, 4)
    settings.set_account(redis, ACCOUNT_ID, settings.FAILURE_EXPIRY_MS, 30_000)

    disable_pass(redis, now_ms=NOW_MS)

    assert redis.zrange(f"hookpool:hook:{hook.id}:failures", 0, -1, withscores=True) == [
        (f"{NOW_MS - 1_000}:delivery1000:1".encode(), float(NOW_MS - 1_000)),
    ]
    assert redis.smembers("hookpool:failing") == {hook.id.encode()}
    assert redis.hget("hookpool:settings", "disable_threshold") == b"4"
    assert redis.hget(f"hookpool:account:{ACCOUNT_ID}:settings", "failure_expiry_ms") == b"30000"
    assert redis.zscore("hookpool:settings:account-expiries", ACCOUNT_ID) == 30_000
    assert redis.hget("hookpool:disable-pass:last", "time_ms") == str(NOW_MS).encode()
    assert redis.hget("hookpool:disable-pass:last", "hooks_checked") == b"1"


def test_a_failure_recorded_for_a_deleted_hook_expires_without_harm(redis):
    hook = new_hook(redis)
    hooks.delete_hook(redis, hook.id)
    fail(redis, hook, 6_000, 5_000, 4_000, 3_000, 2_000, 1_000)

    assert disable_pass(redis, now_ms=NOW_MS).hooks_disabled == []
    assert not redis.exists(keys.hook(hook.id))

    disable_pass(redis, now_ms=NOW_MS + 60_000)
    assert failures.failing_hook_ids(redis) == []
