"""Default values, each with its meaning and unit.

Stored settings (expiry, threshold) can be changed per system and per account
with the control script; the tunables below are read from HOOKPOOL_* environment
variables by config.py.
"""

# The failure window: failed attempts older than this no longer count.
FAILURE_EXPIRY_MS = 60_000
# A hook is disabled when this many failed attempts fall inside the window.
DISABLE_THRESHOLD = 6
# Upper bounds the control script accepts for the two settings above.
MAX_FAILURE_EXPIRY_MS = 7 * 24 * 3600 * 1000
MAX_DISABLE_THRESHOLD = 10_000

# Hook field defaults and limits, as Kazoo's.
HOOK_RETRIES = 2
MAX_HOOK_RETRIES = 4
HOOK_HTTP_VERB = "post"
HOOK_FORMAT = "form-data"
MAX_URI_LENGTH = 2048
MAX_NAME_LENGTH = 256
MAX_CUSTOM_DATA_ITEMS = 64
MAX_CUSTOM_DATA_VALUE_LENGTH = 1024

# Delivery.
CONNECT_TIMEOUT_S = 5.0
# Total time one attempt may take, from connecting to the last byte read.
DELIVERY_DEADLINE_S = 15.0
# First retry delay; each later retry doubles it, up to the cap, with jitter.
RETRY_BACKOFF_S = 2
RETRY_BACKOFF_MAX_S = 60
# A receiver's Retry-After is honoured up to this many seconds.
RETRY_AFTER_MAX_S = 300
# How much of a response body is read and kept; the rest is discarded.
RESPONSE_BODY_MAX_BYTES = 64 * 1024
# How much of a request or response body the attempts log keeps.
ATTEMPT_BODY_LOG_BYTES = 4 * 1024
# Events up to this size (as JSON) are kept whole in their attempts log entries,
# so that a delivery can be replayed; larger ones are logged without it.
ATTEMPT_EVENT_LOG_BYTES = 16 * 1024

# The attempts log keeps at most this many entries per account, and none older
# than the age limit (trimmed by the disable pass).
ATTEMPTS_MAX_PER_ACCOUNT = 1000
ATTEMPTS_MAX_AGE_S = 7 * 24 * 3600

# Fairness: the share of the delivery workers one hook may hold at once (see
# workers/fairness.py); at least one worker, whatever the share. A delivery over
# the cap waits and comes back after a backoff of DEFER_BACKOFF_S, doubled per
# deferral up to DEFER_BACKOFF_MAX_S; waiting is not a failed attempt.
HOOK_WORKER_SHARE = 0.5
DEFER_BACKOFF_S = 1
DEFER_BACKOFF_MAX_S = 5

# Events. MAX_EVENT_BYTES bounds one event (as compact JSON, UTF-8); MAX_INPUT_BYTES
# bounds one whole published input (a file, stdin, a JSON array of many events).
MAX_EVENT_BYTES = 1024 * 1024
MAX_INPUT_BYTES = 64 * 1024 * 1024
MAX_EVENT_DEPTH = 32

# RQ bookkeeping: how long failed delivery jobs stay in RQ's failed registry,
# and how long an RQ job may run before RQ kills it. A delivery job's timeout is
# the delivery deadline plus DELIVERY_JOB_SLACK_S (reading the hook, recording
# the outcome); see workers/recovery.py.
JOB_FAILURE_TTL_S = 7 * 24 * 3600
DELIVERY_JOB_SLACK_S = 10
# Fanning one event out takes milliseconds, a batch well under a second; a short
# timeout keeps an abandoned fan-out's lease short.
FANOUT_JOB_TIMEOUT_S = 20
# Events published together share fan-out jobs (publishing.py): up to this many
# events, and about this much payload (as compact JSON), per job. An event larger
# than the byte bound travels alone.
FAN_OUT_BATCH_EVENTS = 50
FAN_OUT_BATCH_BYTES = 256 * 1024
# A fan-out job that has collected this many deliveries carries its remaining
# events over to a new fan-out job (one event's deliveries are never split).
FAN_OUT_MAX_DELIVERIES = 2000
DISABLE_PASS_TIMEOUT_S = 600

# Recovery (workers/recovery.py). A running job whose worker died is presumed
# abandoned this long after its timeout, and run again by the next worker
# maintenance pass: with the defaults a delivery is attempted again at most
# 15 + 10 + 5 + 10 = 40 s after the interrupted attempt began.
JOB_LEASE_MARGIN_S = 5
# An interrupted job (worker died, Redis lost) is run again at most this many
# times, so a payload that kills every worker cannot circulate for ever.
MAX_INTERRUPTED_RERUNS = 3
# After a Redis error inside a job, its rerun waits this long.
REDIS_ERROR_RERUN_DELAY_S = 5
# How often a worker whose Redis went away checks whether it answers again, and
# the longest an idle RQ worker waits between its own reconnection attempts.
REDIS_RECONNECT_POLL_S = 1.0
REDIS_RECONNECT_MAX_WAIT_S = 5.0

# The disable pass runs every expiry / 4, clamped to these bounds.
DISABLE_PASS_MIN_INTERVAL_S = 1
DISABLE_PASS_MAX_INTERVAL_S = 300

# Worker housekeeping: how often a worker looks for jobs abandoned by dead workers.
# Each pass costs a few dozen Redis commands per queue, so every 10 s is cheap
# even with a hundred workers, and it bounds how late an abandoned job is found.
WORKER_MAINTENANCE_INTERVAL_S = 10
# RQ's worker_ttl. An idle worker waits for a job at most worker_ttl - 15 s before
# it looks around again, so this keeps idle workers' maintenance on schedule.
WORKER_TTL_S = WORKER_MAINTENANCE_INTERVAL_S + 15
# The lock one worker holds while it cleans a queue's registries (milliseconds of
# work); if that worker dies, the next pass can run after this long.
MAINTENANCE_LOCK_S = 60
