"""How a payload travels: query string for get, form-data or JSON body for post and put."""

import json
from urllib.parse import urlencode


def flatten_form(value, prefix=""):
    """Yield (key, text) pairs for a nested payload, bracket-style.

    {"a": {"b": 1}} gives a[b]=1; a list of scalars {"l": [1, 2]} gives l[]=1
    and l[]=2; a list of objects is indexed, l[0][k]=v, so that the fields of
    one item stay together. true/false are spelled out; null becomes empty.
    Empty objects and lists have no pairs, so they do not arrive.
    """
    if isinstance(value, dict):
        for key, item in value.items():
            yield from flatten_form(item, f"{prefix}[{key}]" if prefix else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            nested = isinstance(item, (dict, list))
            yield from flatten_form(item, f"{prefix}[{index}]" if nested else f"{prefix}[]")
    elif isinstance(value, bool):
        yield prefix, "true" if value else "false"
    elif value is None:
        yield prefix, ""
    else:
        yield prefix, str(value)


def form_body(payload):
    return urlencode(list(flatten_form(payload))).encode("ascii")


def json_body(payload):
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def url_with_query(uri, payload):
    """Append the payload to the URI's own query string, leaving that string exactly as it was."""
    query = urlencode(list(flatten_form(payload)))
    if not query:
        return uri
    if "?" not in uri:
        return f"{uri}?{query}"
    return f"{uri}{query}" if uri.endswith(("?", "&")) else f"{uri}&{query}"


JSON_TYPE = "application/json; charset=utf-8"
FORM_TYPE = "application/x-www-form-urlencoded"


def encode(verb, data_format, uri, payload):
    """Return (url, body bytes or None, content type or None) for one request."""
    if verb == "get":
        return url_with_query(uri, payload), None, None
    if data_format == "json":
        return uri, json_body(payload), JSON_TYPE
    return uri, form_body(payload), FORM_TYPE
