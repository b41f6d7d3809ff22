"""Importing webhook documents as Kazoo lists them, all or nothing.

Kazoo's API answers `GET /v2/accounts/{ACCOUNT_ID}/webhooks` with an envelope
whose "data" is a list of documents with the hook fields hookpool shares
(name, uri, http_verb, hook, retries, format, enabled, include_subaccounts,
include_internal_legs, custom_data) and an id; exported database documents
also carry pvt_account_id and private fields (_rev, pvt_type, ...).

Every document is checked first; if any is refused, nothing is written and
each refusal is reported. Otherwise the missing accounts and every hook are
written in one MULTI/EXEC, under WATCH, so the import is never half-done and
never overwrites what appeared while it was being checked.
"""

import json
import logging
import time
from dataclasses import dataclass, field

from redis.exceptions import WatchError

from . import accounts, hooks, keys
from .errors import HookpoolError, ValidationError
from .events import load_json
from .ids import check_id

log = logging.getLogger(__name__)

ACCOUNT_FIELDS = ("pvt_account_id", "account_id")
ID_FIELDS = ("id", "_id")
# Kazoo's private and bookkeeping fields (_rev, pvt_type, pvt_created, ...) mean nothing here.
PRIVATE_PREFIXES = ("_", "pvt_")
IMPORTED_ACCOUNT_NAME = "Imported from Kazoo ({})"


class ImportConflict(HookpoolError):
    """Accounts or hooks the import needs appeared or vanished while it was being checked."""


@dataclass(frozen=True)
class Refusal:
    number: int  # the document's position in the file, from 1
    label: str
    reason: str

    def __str__(self):
        return f"document {self.number} ({self.label}): {self.reason}"


@dataclass
class ImportPlan:
    documents: int
    hooks: list = field(default_factory=list)
    new_accounts: list = field(default_factory=list)
    refused: list = field(default_factory=list)

    @property
    def accepted(self):
        return not self.refused


def read_documents(text):
    """Documents from JSON: Kazoo's envelope {"data": [...]}, a list, one object, or JSON lines."""
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError:
        return _read_json_lines(text)
    except (ValueError, RecursionError):
        parsed = load_json(text, "source")  # the digit or nesting limit, reported as such
    if isinstance(parsed, dict) and isinstance(parsed.get("data"), list):
        return parsed["data"]
    return parsed if isinstance(parsed, list) else [parsed]


def _read_json_lines(text):
    documents = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            documents.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise ValidationError(f"line {number}", line[:60], f"is not JSON ({exc.msg})") from None
        except (ValueError, RecursionError):
            documents.append(load_json(line, f"line {number}"))
    return documents


def plan_import(redis, documents, account_id=None, parent_id=None, ignore_unknown=False, now_ms=None):
    """Check every document against the rules and what Redis holds; write nothing.

    account_id is the account of documents that name none; parent_id places
    the accounts the import creates (top-level without it).
    """
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    parent = accounts.get_account(redis, parent_id) if parent_id else None
    if parent and len(parent.path) + 1 >= accounts.MAX_DEPTH:
        raise ValidationError("--parent", parent_id, f"is already {accounts.MAX_DEPTH - 1} levels deep")
    plan = ImportPlan(documents=len(documents))

    candidates = []
    for number, document in enumerate(documents, start=1):
        try:
            candidates.append((number, hook_from_document(document, account_id, ignore_unknown, now_ms)))
        except ValidationError as exc:
            plan.refused.append(Refusal(number, _label(document), str(exc)))

    plan.hooks = _refuse_taken_ids(redis, candidates, plan.refused)
    plan.new_accounts = _missing_accounts(redis, plan.hooks, parent, now_ms)
    plan.refused.sort(key=lambda r: r.number)
    return plan


def hook_from_document(document, default_account_id, ignore_unknown, now_ms):
    """A validated Hook from one Kazoo webhook document."""
    if not isinstance(document, dict):
        raise ValidationError("document", type(document).__name__, "is not a JSON object")
    account_id = _one_of(document, ACCOUNT_FIELDS) or default_account_id
    if not account_id:
        raise ValidationError("account_id", None, "is missing: name it in pvt_account_id or account_id, "
                                                  "or pass --account")
    account_id = check_id("account_id", account_id)
    hook_id = _one_of(document, ID_FIELDS)

    unknown = [name for name in document if name not in hooks.EDITABLE + ACCOUNT_FIELDS + ID_FIELDS
               and not name.startswith(PRIVATE_PREFIXES)]
    if unknown and not ignore_unknown:
        raise ValidationError("field", unknown[0], "is not a Kazoo webhook field (--ignore-unknown-fields skips such)")

    fields = {name: value for name, value in document.items() if name in hooks.EDITABLE}
    return hooks.build_hook(account_id, fields, hook_id=hook_id, now_ms=now_ms)


def _one_of(document, names):
    """The value of whichever of names the document sets; they must agree if it sets several."""
    given = {name: document[name] for name in names if document.get(name) not in (None, "")}
    if len(set(map(str, given.values()))) > 1:
        first, second = list(given)[:2]
        raise ValidationError(second, given[second], f"differs from {first} {given[first]!r}")
    return next(iter(given.values()), None)


def _label(document):
    if isinstance(document, dict):
        for name in ("name", "id", "_id"):
            if isinstance(document.get(name), str) and document[name]:
                return f"{name} {document[name]!r}"
    return "no name"


def _refuse_taken_ids(redis, candidates, refused):
    """Drop, as refusals, hooks whose id is already stored or appears earlier in the file."""
    with redis.pipeline(transaction=False) as pipe:
        for _, hook in candidates:
            pipe.exists(keys.hook(hook.id))
        stored = pipe.execute()

    first_seen = {}
    kept = []
    for (number, hook), exists in zip(candidates, stored):
        if exists:
            refused.append(Refusal(number, f"name {hook.name!r}", f"id: {hook.id!r} is already a hook"))
        elif hook.id in first_seen:
            refused.append(Refusal(number, f"name {hook.name!r}",
                                   f"id: {hook.id!r} is also the id of document {first_seen[hook.id]}"))
        else:
            first_seen[hook.id] = number
            kept.append(hook)
    return kept


def _missing_accounts(redis, planned_hooks, parent, now_ms):
    """Accounts the hooks need that do not exist yet, to be created under parent."""
    needed = sorted({hook.account_id for hook in planned_hooks})
    with redis.pipeline(transaction=False) as pipe:
        for account_id in needed:
            pipe.exists(keys.account(account_id))
        missing = [a for a, exists in zip(needed, pipe.execute()) if not exists]
    path = parent.path + (parent.id,) if parent else ()
    return [accounts.Account(account_id, IMPORTED_ACCOUNT_NAME.format(account_id), parent.id if parent else None,
                             path, now_ms) for account_id in missing]


def apply_import(redis, plan, parent_id=None):
    """Write an accepted plan in one MULTI/EXEC, provided nothing it relied on changed meanwhile."""
    if not plan.accepted:
        raise ValidationError("import", f"{len(plan.refused)} of {plan.documents} documents", "refused")
    new_account_ids = {a.id for a in plan.new_accounts}
    existing_account_ids = {h.account_id for h in plan.hooks} - new_account_ids
    if parent_id:
        existing_account_ids.add(parent_id)
    watched = [keys.hook(h.id) for h in plan.hooks] + [keys.account(a) for a in new_account_ids | existing_account_ids]

    with redis.pipeline() as pipe:
        try:
            if watched:
                pipe.watch(*watched)
            _check_unchanged(pipe, plan, new_account_ids, existing_account_ids)
            pipe.multi()
            for account in plan.new_accounts:
                accounts.queue_create(pipe, account)
            for hook in plan.hooks:
                hooks.queue_create(pipe, hook)
            pipe.execute()
        except WatchError:
            raise ImportConflict("accounts or hooks changed while importing; nothing was written, run it again") \
                from None
    log.info("imported %d hooks, creating %d accounts", len(plan.hooks), len(plan.new_accounts))


def _check_unchanged(pipe, plan, new_account_ids, existing_account_ids):
    """Under WATCH: what the plan found absent is still absent, and what it found present still there."""
    def count(redis_keys):
        return pipe.exists(*redis_keys) if redis_keys else 0

    if count([keys.hook(h.id) for h in plan.hooks]):
        raise ImportConflict("a hook id of the file was created while importing; nothing was written, run it again")
    if count([keys.account(a) for a in new_account_ids]):
        raise ImportConflict("an account of the file was created while importing; nothing was written, run it again")
    if count([keys.account(a) for a in existing_account_ids]) != len(existing_account_ids):
        raise ImportConflict("an account the file needs was deleted while importing; nothing was written")
