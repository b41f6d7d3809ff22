"""The attempts log: one Redis stream per account, newest entries last.

Each entry holds one JSON document describing one delivery attempt. The stream
is capped by count on every write (approximately, which is cheap) and by age
in the disable pass, so Redis memory stays flat whatever the traffic.
"""

import json
import time

from . import defaults, keys


def record(pipe, account_id, entry, max_entries=defaults.ATTEMPTS_MAX_PER_ACCOUNT):
    """Queue, on pipe, one attempt entry for account_id."""
    pipe.xadd(keys.account_attempts(account_id), {"doc": json.dumps(entry, sort_keys=True)},
              maxlen=max_entries, approximate=True)


def trim_by_age(pipe, account_id, now_ms, max_age_s=defaults.ATTEMPTS_MAX_AGE_S):
    """Queue, on pipe, the removal of entries older than max_age_s."""
    pipe.xtrim(keys.account_attempts(account_id), minid=now_ms - max_age_s * 1000, approximate=True)


def read(redis, account_id, hook_id=None, since_ms=None, failed_only=False, limit=100):
    """Entries of one account, newest first, optionally for one hook, since a time, failures only.

    since_ms is clamped to [0, now]: stream ids are unsigned, so a time before
    the epoch means "from the beginning", and one in the future finds nothing.
    """
    oldest = str(min(max(since_ms, 0), now_ms())) if since_ms is not None else "-"
    found = []
    # Filtering happens here, so read in pages until enough entries match.
    newest = "+"
    while len(found) < limit:
        page = redis.xrevrange(keys.account_attempts(account_id), max=newest, min=oldest, count=200)
        for stream_id, fields in page:
            entry = json.loads(fields[b"doc"])
            if hook_id and entry.get("hook_id") != hook_id:
                continue
            if failed_only and entry.get("result") == "success":
                continue
            found.append(entry)
        if len(page) < 200:
            break
        newest = "(" + page[-1][0].decode()
    return found[:limit]


def now_ms():
    return int(time.time() * 1000)
