"""The retry delay: exponential, capped, jittered, and respectful of Retry-After."""

from datetime import datetime, timezone
from email.utils import format_datetime

import pytest

from hookpool.workers.backoff import parse_retry_after, retry_delay_s


def lowest(attempt, base_s=2, cap_s=60, **options):
    return retry_delay_s(attempt, base_s, cap_s, rand=lambda: 0.0, **options)


def highest(attempt, base_s=2, cap_s=60, **options):
    return retry_delay_s(attempt, base_s, cap_s, rand=lambda: 1.0, **options)


@pytest.mark.parametrize(("attempt", "full_delay_s"), [(1, 2), (2, 4), (3, 8), (4, 16), (5, 32)])
def test_the_delay_doubles_with_each_attempt(attempt, full_delay_s):
    assert highest(attempt) == full_delay_s


@pytest.mark.parametrize("attempt", [1, 2, 3, 4])
def test_jitter_keeps_the_delay_between_half_and_all_of_it(attempt):
    full = highest(attempt)

    assert lowest(attempt) == full // 2
    assert full // 2 <= retry_delay_s(attempt, 2, 60, rand=lambda: 0.5) <= full


def test_the_delay_never_exceeds_the_cap():
    assert highest(20, base_s=2, cap_s=60) == 60
    assert lowest(20, base_s=2, cap_s=60) == 30


def test_delays_are_whole_seconds_rounded_up():
    delay = retry_delay_s(1, 1, 60, rand=lambda: 0.3)

    assert delay == 1 and isinstance(delay, int)


def test_a_zero_base_retries_at_once():
    assert highest(3, base_s=0) == 0


def test_a_longer_retry_after_wins_over_the_backoff():
    assert lowest(1, retry_after_s=45) == 45


def test_a_shorter_retry_after_does_not_shorten_the_backoff():
    assert lowest(3, retry_after_s=1) == 4


def test_retry_after_is_honoured_only_up_to_its_cap():
    assert lowest(1, retry_after_s=86_400, retry_after_cap_s=300) == 300


@pytest.mark.parametrize(("header", "seconds"), [("120", 120), (" 7 ", 7), ("0", 0)])
def test_retry_after_in_seconds_is_read(header, seconds):
    assert parse_retry_after(header) == seconds


def test_retry_after_as_an_http_date_is_read_relative_to_now():
    now_s = 1_700_000_000
    header = format_datetime(datetime.fromtimestamp(now_s + 90, timezone.utc), usegmt=True)

    assert parse_retry_after(header, now_s=now_s) == 90


def test_retry_after_in_the_past_means_now():
    header = format_datetime(datetime.fromtimestamp(1_000_000_000, timezone.utc), usegmt=True)

    assert parse_retry_after(header, now_s=1_700_000_000) == 0


@pytest.mark.parametrize("header", [None, "", "soon", "-5", "1.5"])
def test_an_unusable_retry_after_is_ignored(header):
    assert parse_retry_after(header) is None
