"""When to try a failed delivery again: a pure function, tested on its own."""

import math
import random
import time
from email.utils import parsedate_to_datetime


def retry_delay_s(attempt, base_s, cap_s, retry_after_s=None, retry_after_cap_s=300, rand=random.random):
    """Seconds to wait before the attempt after `attempt` (1 for the first).

    Exponential from base_s, doubled each attempt, capped at cap_s, with "equal
    jitter" (between half and all of the delay) so that hooks failing together
    do not retry in lockstep. A receiver's Retry-After wins when it asks for
    longer, up to retry_after_cap_s. Whole seconds: RQ schedules in seconds.
    """
    delay = min(cap_s, base_s * 2 ** (attempt - 1))
    jittered = delay / 2 + delay / 2 * rand()
    if retry_after_s is not None:
        jittered = max(jittered, min(retry_after_s, retry_after_cap_s))
    return math.ceil(jittered)


def parse_retry_after(value, now_s=None):
    """Seconds asked for by a Retry-After header (a number or an HTTP date); None if unusable."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return int(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    now_s = time.time() if now_s is None else now_s
    return max(0, math.ceil(when.timestamp() - now_s))
