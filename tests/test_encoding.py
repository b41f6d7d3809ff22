"""How payloads are encoded: bracket-style form-data, JSON, and GET query strings."""

import json
from urllib.parse import parse_qsl

import pytest

from hookpool.workers.encoding import encode, flatten_form, form_body, json_body, url_with_query
from support import bracket_pairs, load_samples


def test_nested_objects_become_bracketed_keys():
    assert list(flatten_form({"a": {"b": {"c": "deep"}}, "top": "x"})) == [("a[b][c]", "deep"), ("top", "x")]


def test_a_list_of_scalars_repeats_the_key_with_empty_brackets():
    assert list(flatten_form({"tags": ["red", "blue"], "o": {"ids": [1, 2]}})) == [
        ("tags[]", "red"), ("tags[]", "blue"), ("o[ids][]", "1"), ("o[ids][]", "2"),
    ]


def test_a_list_of_objects_is_indexed_so_each_items_fields_stay_together():
    payload = {"items": [{"name": "a", "qty": 1}, {"name": "b", "qty": 2}]}

    assert list(flatten_form(payload)) == [
        ("items[0][name]", "a"), ("items[0][qty]", "1"), ("items[1][name]", "b"), ("items[1][qty]", "2"),
    ]


def test_scalars_are_spelled_as_text():
    payload = {"yes": True, "no": False, "nothing": None, "int": 7, "float": 1.5, "text": "t"}

    assert dict(flatten_form(payload)) == {
        "yes": "true", "no": "false", "nothing": "", "int": "7", "float": "1.5", "text": "t",
    }


def test_empty_objects_and_lists_send_nothing():
    assert list(flatten_form({"empty": {}, "none": [], "kept": "1"})) == [("kept", "1")]


def test_form_bodies_are_url_encoded_ascii_that_decodes_to_the_pairs():
    payload = {"caller_id_name": "Zoë & Bob", "number": "+15555432345", "q": "a=b", "nested": {"x y": "1/2"}}

    body = form_body(payload)

    assert body.isascii()
    assert b"+15555432345" not in body  # a literal + would decode as a space
    assert parse_qsl(body.decode("ascii"), keep_blank_values=True) == [
        ("caller_id_name", "Zoë & Bob"), ("number", "+15555432345"), ("q", "a=b"), ("nested[x y]", "1/2"),
    ]


@pytest.mark.parametrize(("event_type", "index"), [
    (event_type, index) for event_type, payloads in load_samples().items() for index in range(len(payloads))
])
def test_every_kazoo_sample_flattens_to_the_bracket_pairs_we_promise(event_type, index):
    payload = load_samples()[event_type][index]

    assert parse_qsl(form_body(payload).decode("ascii"), keep_blank_values=True) == bracket_pairs(payload)


def test_json_bodies_are_utf8_and_decode_to_the_payload():
    payload = {"caller_id_name": "Zoë", "nested": {"list": [1, None, True]}}

    body = json_body(payload)

    assert "Zoë".encode("utf-8") in body
    assert json.loads(body.decode("utf-8")) == payload


@pytest.mark.parametrize(("uri", "own_part"), [
    ("https://h.example/hook", "https://h.example/hook?"),
    ("https://h.example/hook?token=a%2Fb&x=1", "https://h.example/hook?token=a%2Fb&x=1&"),
    ("https://h.example/hook?token=a%2fb", "https://h.example/hook?token=a%2fb&"),
    ("https://h.example/hook?", "https://h.example/hook?"),
    ("https://h.example/hook?a=1&", "https://h.example/hook?a=1&"),
    ("https://h.example/hook?flag", "https://h.example/hook?flag&"),
    ("https://h.example/hook?q=x+y&e=", "https://h.example/hook?q=x+y&e=&"),
])
def test_get_appends_the_payload_to_the_uris_own_query_string_byte_exact(uri, own_part):
    url = url_with_query(uri, {"call_id": "c 1", "n": {"k": "v"}})

    assert url == own_part + "call_id=c+1&n%5Bk%5D=v"


def test_get_with_an_empty_payload_leaves_the_uri_untouched():
    assert url_with_query("https://h.example/hook?token=a%2Fb", {}) == "https://h.example/hook?token=a%2Fb"


@pytest.mark.parametrize(("verb", "data_format", "content_type"), [
    ("post", "json", "application/json; charset=utf-8"),
    ("put", "json", "application/json; charset=utf-8"),
    ("post", "form-data", "application/x-www-form-urlencoded"),
    ("put", "form-data", "application/x-www-form-urlencoded"),
])
def test_post_and_put_send_a_body_declared_by_its_content_type(verb, data_format, content_type):
    url, body, declared = encode(verb, data_format, "https://h.example/hook?x=1", {"a": "b"})

    assert url == "https://h.example/hook?x=1"
    assert declared == content_type
    assert body in (b'{"a":"b"}', b"a=b")


@pytest.mark.parametrize("data_format", ["json", "form-data"])
def test_get_sends_no_body_whatever_the_format(data_format):
    url, body, declared = encode("get", data_format, "https://h.example/hook", {"a": "b"})

    assert (url, body, declared) == ("https://h.example/hook?a=b", None, None)
