"""Accounts, arranged in a tree.

Each account stores its path (the ids of its ancestors, root first), and each
ancestor keeps a set of its descendants at every depth, so both directions are
one Redis read. Parents never change after creation, which keeps both exact.
"""

import time
from dataclasses import dataclass

from redis.exceptions import WatchError

from . import keys
from .errors import NotFound, ValidationError
from .ids import check_id, new_id
from .text import check_label

MAX_NAME_LENGTH = 128
MAX_DEPTH = 32


@dataclass(frozen=True)
class Account:
    id: str
    name: str
    parent_id: str | None
    path: tuple  # ancestor ids, root first
    created_ms: int

    def to_dict(self):
        return {
            "id": self.id,
            "name": self.name,
            "parent_id": self.parent_id,
            "ancestors": list(self.path),
            "created_ms": self.created_ms,
        }


def _from_hash(account_id, raw):
    path = raw.get(b"path", b"").decode()
    parent = raw.get(b"parent_id", b"").decode()
    return Account(
        id=account_id,
        name=raw[b"name"].decode(),
        parent_id=parent or None,
        path=tuple(path.split(",")) if path else (),
        created_ms=int(raw[b"created_ms"]),
    )


def _check_name(name):
    if not isinstance(name, str) or not name.strip():
        raise ValidationError("name", name, "must not be empty")
    if len(name) > MAX_NAME_LENGTH:
        raise ValidationError("name", name[:20] + "...", f"is longer than {MAX_NAME_LENGTH} characters")
    return check_label("name", name.strip())


def create_account(redis, name, parent_id=None, account_id=None, now_ms=None):
    """Create an account under parent_id (or as a root); return it."""
    name = _check_name(name)
    account_id = check_id("id", account_id) if account_id else new_id()
    parent = get_account(redis, check_id("parent", parent_id)) if parent_id else None
    path = parent.path + (parent.id,) if parent else ()
    if len(path) >= MAX_DEPTH:
        raise ValidationError("parent", parent_id, f"is already {MAX_DEPTH} levels deep")
    created_ms = int(time.time() * 1000) if now_ms is None else now_ms

    with redis.pipeline() as pipe:
        # WATCH so that two creations of the same id cannot both succeed, and so that a parent
        # deleted meanwhile cannot leave an orphan whose path a re-created id would inherit.
        parent_keys = [keys.account(parent.id)] if parent else []
        pipe.watch(keys.account(account_id), *parent_keys)
        if pipe.exists(keys.account(account_id)):
            raise ValidationError("id", account_id, "is already an account")
        if parent and not pipe.exists(parent_keys[0]):
            raise NotFound("account", parent.id)
        pipe.multi()
        account = Account(account_id, name, parent.id if parent else None, path, created_ms)
        queue_create(pipe, account)
        pipe.execute()

    return account


def queue_create(pipe, account):
    """Queue, on pipe, the writes that store a new account whose parent (if any) exists."""
    pipe.hset(keys.account(account.id), mapping={
        "name": account.name,
        "parent_id": account.parent_id or "",
        "path": ",".join(account.path),
        "created_ms": account.created_ms,
    })
    pipe.sadd(keys.ACCOUNTS, account.id)
    if account.parent_id:
        pipe.sadd(keys.account_children(account.parent_id), account.id)
    for ancestor_id in account.path:
        pipe.sadd(keys.account_descendants(ancestor_id), account.id)


def get_account(redis, account_id):
    account_id = check_id("account", account_id)
    raw = redis.hgetall(keys.account(account_id))
    if not raw:
        raise NotFound("account", account_id)
    return _from_hash(account_id, raw)


def exists(redis, account_id):
    return bool(redis.exists(keys.account(account_id)))


def list_accounts(redis):
    """Every account, sorted by path so that each parent precedes its children."""
    ids = sorted(i.decode() for i in redis.smembers(keys.ACCOUNTS))
    with redis.pipeline(transaction=False) as pipe:
        for account_id in ids:
            pipe.hgetall(keys.account(account_id))
        raws = pipe.execute()
    accounts = [_from_hash(i, raw) for i, raw in zip(ids, raws) if raw]
    return sorted(accounts, key=lambda a: (a.path + (a.id,)))


def descendant_ids(redis, account_id):
    """Ids of every account below account_id, at any depth."""
    return {i.decode() for i in redis.smembers(keys.account_descendants(account_id))}


def child_ids(redis, account_id):
    return {i.decode() for i in redis.smembers(keys.account_children(account_id))}


def delete_account(redis, account_id, recursive=False, now_ms=None):
    """Delete an account with its hooks, their failures, its settings and attempts log.

    An account with subaccounts is refused unless recursive, which deletes the
    whole subtree. Returns the ids of the accounts deleted.
    """
    from .events import INDEXED_EVENT_TYPES

    account = get_account(redis, account_id)
    with redis.pipeline() as pipe:
        while True:
            try:
                return _delete_subtree(pipe, account, recursive, INDEXED_EVENT_TYPES)
            except WatchError:
                continue  # a hook or subaccount was added meanwhile: read again, so none is left behind


def _delete_subtree(pipe, account, recursive, event_types):
    """One attempt, under WATCH of what was read: the subtree and each account's set of hooks."""
    pipe.watch(keys.account(account.id), keys.account_descendants(account.id))
    if not pipe.exists(keys.account(account.id)):
        raise NotFound("account", account.id)  # deleted by someone else meanwhile
    below = sorted(m.decode() for m in pipe.smembers(keys.account_descendants(account.id)))
    if below and not recursive:
        raise ValidationError("account", account.id, f"has {len(below)} subaccounts; delete them first or pass --recursive")
    doomed = [account.id, *below]

    pipe.watch(*[keys.account_hooks(doomed_id) for doomed_id in doomed])
    hook_ids = {doomed_id: [m.decode() for m in pipe.smembers(keys.account_hooks(doomed_id))] for doomed_id in doomed}

    pipe.multi()
    for doomed_id in doomed:
        _queue_account_removal(pipe, doomed_id, hook_ids[doomed_id], event_types)
    if account.parent_id:
        pipe.srem(keys.account_children(account.parent_id), account.id)
    for ancestor_id in account.path:
        pipe.srem(keys.account_descendants(ancestor_id), *doomed)
    pipe.execute()
    return doomed


def _queue_account_removal(pipe, account_id, hook_ids, event_types):
    for hook_id in hook_ids:
        pipe.delete(keys.hook(hook_id), keys.hook_failures(hook_id))
    if hook_ids:
        pipe.srem(keys.FAILING_HOOKS, *hook_ids)
    for event_type in event_types:
        pipe.delete(keys.own_event_index(account_id, event_type), keys.descendant_event_index(account_id, event_type))
    pipe.delete(
        keys.account(account_id),
        keys.account_children(account_id),
        keys.account_descendants(account_id),
        keys.account_hooks(account_id),
        keys.account_settings(account_id),
        keys.account_attempts(account_id),
    )
    pipe.srem(keys.ACCOUNTS, account_id)
    pipe.zrem(keys.ACCOUNT_EXPIRIES, account_id)
