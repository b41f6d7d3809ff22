"""Every Redis key hookpool writes, in one place.

The layout is a contract: tests assert these literal names, and operators may
inspect them with redis-cli. RQ's own keys (rq:queue:*, rq:job:*) sit beside
them under RQ's prefix.

    hookpool:accounts                          set     every account id
    hookpool:account:{id}                      hash    name, parent_id, path, created_ms
    hookpool:account:{id}:children             set     direct subaccount ids
    hookpool:account:{id}:descendants          set     subaccount ids at every depth
    hookpool:account:{id}:hooks                set     ids of the account's own hooks
    hookpool:account:{id}:on:{event}           set     hook ids firing for the account's own {event}
    hookpool:account:{id}:below:{event}        set     hook ids firing for descendants' {event}
    hookpool:account:{id}:settings             hash    failure_expiry_ms, disable_threshold
    hookpool:account:{id}:attempts             stream  attempts log, one JSON document per entry
    hookpool:hook:{id}                         hash    the hook's fields (see hooks.py)
    hookpool:hook:{id}:failures                zset    failed attempts, scored by epoch ms
    hookpool:hook:{id}:in-flight               zset    delivery ids being attempted, scored by lease end (epoch ms)
    hookpool:failing                           set     hook ids that have failure entries
    hookpool:settings                          hash    system-wide settings
    hookpool:settings:account-expiries         zset    account ids scored by their own failure expiry (ms)
    hookpool:disable-pass:last                 hash    when the disable pass last ran, and its counts
    hookpool:api-keys                          set     SHA-256 hex digests of every API key issued
    hookpool:api-key:{digest}                  hash    scope (an account id, or "system"), created_ms, account_created_ms
"""

PREFIX = "hookpool"

ACCOUNTS = f"{PREFIX}:accounts"
FAILING_HOOKS = f"{PREFIX}:failing"
SYSTEM_SETTINGS = f"{PREFIX}:settings"
ACCOUNT_EXPIRIES = f"{PREFIX}:settings:account-expiries"
DISABLE_PASS_LAST = f"{PREFIX}:disable-pass:last"
API_KEYS = f"{PREFIX}:api-keys"


def account(account_id):
    return f"{PREFIX}:account:{account_id}"


def account_children(account_id):
    return f"{PREFIX}:account:{account_id}:children"


def account_descendants(account_id):
    return f"{PREFIX}:account:{account_id}:descendants"


def account_hooks(account_id):
    return f"{PREFIX}:account:{account_id}:hooks"


def own_event_index(account_id, event_type):
    return f"{PREFIX}:account:{account_id}:on:{event_type}"


def descendant_event_index(account_id, event_type):
    return f"{PREFIX}:account:{account_id}:below:{event_type}"


def account_settings(account_id):
    return f"{PREFIX}:account:{account_id}:settings"


def account_attempts(account_id):
    return f"{PREFIX}:account:{account_id}:attempts"


def hook(hook_id):
    return f"{PREFIX}:hook:{hook_id}"


def hook_failures(hook_id):
    return f"{PREFIX}:hook:{hook_id}:failures"


def api_key(key_digest):
    return f"{PREFIX}:api-key:{key_digest}"


def hook_in_flight(hook_id):
    return f"{PREFIX}:hook:{hook_id}:in-flight"
