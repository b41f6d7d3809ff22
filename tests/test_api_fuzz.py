"""The OpenAPI document, fuzzed with schemathesis: no input makes the API fail (500), and every
answer matches what the document promises (status codes, content type, body schema).

Requests act with an account key on a seeded account and hook, so that they reach
real objects rather than only answering 404 for random ids.
"""

import fakeredis
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from hookpool import accounts, hooks
from hookpool.api import create_app, credentials

HOOK_FIELDS = {"name": "seeded", "uri": "https://example.com/seeded", "hook": "channel_create"}
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


class Seeded:
    def __init__(self):
        self.redis = fakeredis.FakeRedis(server=fakeredis.FakeServer())
        self.app = create_app(self.redis)
        self.account = accounts.create_account(self.redis, "Fuzzed")
        self.child = accounts.create_account(self.redis, "Fuzzed child", parent_id=self.account.id)
        self.hook_id = hooks.create_hook(self.redis, self.account.id, HOOK_FIELDS).id
        self.api_key, _ = credentials.create_key(self.redis, account_id=self.account.id)

    def restore(self):
        """Put back what an earlier request deleted, so that every request finds something."""
        if not accounts.exists(self.redis, self.child.id):
            accounts.create_account(self.redis, "Fuzzed child", parent_id=self.account.id, account_id=self.child.id)
        if not self.redis.exists(f"hookpool:hook:{self.hook_id}"):
            hooks.create_hook(self.redis, self.account.id, HOOK_FIELDS, hook_id=self.hook_id)


# Built at import: schemathesis's lazy (fixture-based) loading does not work with pytest 9.
SEEDED = Seeded()
schema = schemathesis.openapi.from_wsgi("/v2/openapi.json", SEEDED.app)


@pytest.fixture
def seeded():
    return SEEDED


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_input_makes_the_api_fail_or_break_its_document(case, seeded):
    seeded.restore()
    if "account_id" in (case.path_parameters or {}):
        case.path_parameters["account_id"] = seeded.account.id
    if "webhook_id" in (case.path_parameters or {}):
        case.path_parameters["webhook_id"] = seeded.hook_id

    case.call_and_validate(headers={"X-Auth-Token": seeded.api_key}, checks=CHECKS)
