"""Helpers for the API tests: an application on fakeredis, keys, and Kazoo-envelope calls."""

from hookpool import accounts
from hookpool.api import create_app, credentials

HOOK = {"name": "calls", "uri": "https://example.com/calls", "hook": "channel_create"}


class Api:
    """The Flask test client of an API on redis, calling with one key unless told otherwise."""

    def __init__(self, redis, samples_dir=None):
        self.redis = redis
        self.app = create_app(redis, samples_dir=samples_dir)
        self.client = self.app.test_client()
        self.system_key, _ = credentials.create_key(redis)

    def key_for(self, account_id):
        return credentials.create_key(self.redis, account_id=account_id)[0]

    def call(self, method, path, data=None, key=None, body=None, **options):
        """Send data in Kazoo's envelope ({"data": data}), or body exactly as given."""
        headers = {"X-Auth-Token": key or self.system_key} if key != "" else {}
        if data is not None:
            options["json"] = {"data": data}
        elif body is not None:
            options["data"] = body
        return self.client.open(path, method=method, headers=headers, **options)

    def account(self, name="Customer", parent_id=None):
        return accounts.create_account(self.redis, name, parent_id=parent_id).id

    def hook(self, account_id, **fields):
        answer = self.call("PUT", f"/v2/accounts/{account_id}/webhooks", {**HOOK, **fields})
        assert answer.status_code == 201, answer.json
        return answer.json["data"]


def field_error(answer):
    """(field, rule) of a Kazoo validation error, after checking its envelope."""
    assert answer.status_code == 400, answer.json
    body = answer.json
    assert (body["error"], body["message"], body["status"]) == ("400", "invalid data", "error")
    [(field, rules)] = body["data"].items()
    [(rule, detail)] = rules.items()
    assert field in detail["message"]
    return field, rule
