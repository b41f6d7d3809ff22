"""API keys: issued once, stored only as their SHA-256, scoped to an account or to the system.

A key is 32 random bytes, so a plain SHA-256 of it cannot be reversed or
guessed; a slow password hash would only slow every request down. An account
key reaches its own account and every account below it; a system key reaches
everything. A key of an account that has since been deleted reaches nothing
and is refused like an unknown one, even if an account is created again with
the same id (the key remembers when its account was created).

Known shortcoming: keys of a deleted account stay stored, refused, until
revoked; an index of keys per account, emptied by accounts.delete_account,
would remove them with it.
"""

import hashlib
import secrets
import time
from dataclasses import dataclass

from .. import accounts, keys
from ..errors import NotFound, ValidationError

KEY_PREFIX = "hpk_"
SYSTEM = "system"
# The first characters of a key's digest name it in listings, without revealing the key.
KEY_ID_LENGTH = 12


@dataclass(frozen=True)
class Principal:
    """Who a request acts as: the system, or one account (with its subtree)."""

    scope: str  # SYSTEM or an account id
    key_id: str

    @property
    def is_system(self):
        return self.scope == SYSTEM


def digest(api_key):
    return hashlib.sha256(api_key.encode("utf-8")).hexdigest()


def create_key(redis, account_id=None, now_ms=None):
    """Issue a key for account_id (or the system, when None); return (key, key id). The key is not kept."""
    account = accounts.get_account(redis, account_id) if account_id else None
    api_key = KEY_PREFIX + secrets.token_urlsafe(32)
    key_digest = digest(api_key)
    created_ms = int(time.time() * 1000) if now_ms is None else now_ms
    stored = {"scope": account.id if account else SYSTEM, "created_ms": created_ms,
              "account_created_ms": account.created_ms if account else ""}
    with redis.pipeline() as pipe:
        pipe.hset(keys.api_key(key_digest), mapping=stored)
        pipe.sadd(keys.API_KEYS, key_digest)
        pipe.execute()
    return api_key, key_digest[:KEY_ID_LENGTH]


def authenticate(redis, api_key):
    """The Principal an API key stands for, or None for an unknown, revoked or orphaned key."""
    if not api_key or len(api_key) > 256:
        return None
    key_digest = digest(api_key)
    scope, account_created_ms = redis.hmget(keys.api_key(key_digest), "scope", "account_created_ms")
    if scope is None:
        return None
    scope = scope.decode()
    if scope != SYSTEM and redis.hget(keys.account(scope), "created_ms") != account_created_ms:
        return None  # the account is gone, or is a new one with the old id
    return Principal(scope, key_digest[:KEY_ID_LENGTH])


def list_keys(redis):
    """[{id, scope, created_ms}] of every key, oldest first."""
    digests = sorted(m.decode() for m in redis.smembers(keys.API_KEYS))
    with redis.pipeline(transaction=False) as pipe:
        for key_digest in digests:
            pipe.hgetall(keys.api_key(key_digest))
        raws = pipe.execute()
    found = [
        {"id": d[:KEY_ID_LENGTH], "scope": raw[b"scope"].decode(), "created_ms": int(raw[b"created_ms"])}
        for d, raw in zip(digests, raws) if raw
    ]
    return sorted(found, key=lambda k: (k["created_ms"], k["id"]))


def revoke_key(redis, key_id):
    """Revoke the key whose id (a prefix of its digest, as listed) is key_id."""
    if not isinstance(key_id, str) or len(key_id) < 8:
        raise ValidationError("key id", key_id, "must be at least 8 characters, as `hookpool keys list` shows")
    matches = [m.decode() for m in redis.smembers(keys.API_KEYS) if m.decode().startswith(key_id.lower())]
    if not matches:
        raise NotFound("API key", key_id)
    if len(matches) > 1:
        raise ValidationError("key id", key_id, "matches more than one key; give more characters")
    with redis.pipeline() as pipe:
        pipe.delete(keys.api_key(matches[0]))
        pipe.srem(keys.API_KEYS, matches[0])
        pipe.execute()
    return matches[0][:KEY_ID_LENGTH]


def reaches(redis, principal, account_id):
    """Whether principal may act on account_id (which must exist). Unknown and foreign look alike."""
    if principal.is_system:
        return accounts.exists(redis, account_id)
    if account_id == principal.scope:
        return True
    return bool(redis.sismember(keys.account_descendants(principal.scope), account_id))
