"""Input JSON cannot carry, against a real server: a located 4xx in JSON, never a 500.

``NaN`` / ``Infinity`` tokens, numbers that overflow to infinity, and ``\\ud800``
escapes (lone surrogates) are what Python's ``json`` accepts but strict JSON and the
tokenizer do not; a body sent without a JSON content type is 415.
"""

from __future__ import annotations

import asyncio
import math

import httpx
import pytest
from server_helpers import RunningServer
from tiny_model import QA

JSON = {"content-type": "application/json"}
QUERY, ON_TOPIC, OFF_TOPIC = QA[0]


def _post(client: httpx.Client, path: str, body: bytes, headers: dict[str, str] = JSON) -> httpx.Response:
    return client.post(path, content=body, headers=headers)


@pytest.mark.parametrize(
    ("path", "body", "names"),
    [
        ("/v1/rerank", b'{"query": "q", "documents": ["a"], "top_n": NaN}', "top_n: NaN"),
        (
            "/v1/rerank",
            b'{"query": "q", "documents": ["a"], "min_probability": Infinity}',
            "min_probability: Infinity",
        ),
        (
            "/v2/rerank",
            b'{"query": "q", "documents": ["a"], "min_relative": -Infinity}',
            "min_relative: -Infinity",
        ),
        ("/v1/rerank", b'{"query": "q", "documents": ["a"], "min_keep": 1e400}', "min_keep: 1e400"),
        # echoed fields: these used to come back as null
        (
            "/v1/rerank",
            b'{"query": "q", "documents": ["a", {"text": "b", "score": NaN}], "return_documents": true}',
            "documents[1].score: NaN",
        ),
        (
            "/v1/rerank",
            b'{"query": "q", "documents": [{"text": "b", "meta": {"w": [1, 1e400]}}], "return_documents": true}',
            "documents[0].meta.w[1]: 1e400",
        ),
        ("/rerank", b'{"query": "q", "texts": ["a"], "raw_scores": NaN}', "raw_scores: NaN"),
    ],
)
def test_non_finite_numbers_are_a_422_naming_field_position_and_value(
    client: httpx.Client, path: str, body: bytes, names: str
) -> None:
    response = _post(client, path, body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/json"
    message = response.json()["message"]
    assert message.startswith(names) and "finite number" in message, message


@pytest.mark.parametrize(
    ("path", "body", "names"),
    [
        ("/v1/rerank", b'{"query": "\\ud800", "documents": ["a"]}', "query"),
        ("/v1/rerank", b'{"query": "q", "documents": ["ok", "bad \\udfff here"]}', "documents[1]"),
        ("/v1/rerank", b'{"query": "q", "documents": [{"text": "x\\ud83d"}]}', "documents[0].text"),
        ("/v1/rerank", b'{"query": "q", "documents": [{"text": "x", "\\udc00": 1}]}', "documents[0]"),
        ("/rerank", b'{"query": "q", "texts": ["fine", "fine", "\\udc00"]}', "texts[2]"),
        # raw UTF-8-encoded surrogate bytes decode to the same lone surrogate
        ("/rerank", b'{"query": "q\xed\xa0\x80", "texts": ["a"]}', "query"),
    ],
)
def test_lone_surrogates_are_a_422_naming_field_and_character(
    client: httpx.Client, path: str, body: bytes, names: str
) -> None:
    response = _post(client, path, body)
    assert response.status_code == 422, response.text
    message = response.json()["message"]
    assert message.startswith(names) and "lone surrogate" in message and "at character" in message, message


def test_a_body_that_is_not_utf8_is_a_400_with_the_position(client: httpx.Client) -> None:
    response = _post(client, "/rerank", b'{"query": "caf\xe9", "texts": ["a"]}')
    assert response.status_code == 400
    assert response.json()["message"] == "request body is not valid UTF-8: byte 0xe9 at position 14"


async def test_one_bad_document_does_not_fail_the_others_in_its_batch(server: RunningServer, scorer) -> None:
    good = [(q, [p, n]) for q, p, n in QA[:5]]
    good.append((QA[5][0], [QA[5][1] + " \U0001f600", QA[5][2]]))  # a surrogate pair in JSON: one emoji, fine
    async with httpx.AsyncClient(base_url=server.url, timeout=300) as http:
        bad = http.post("/rerank", content=b'{"query": "q", "texts": ["fine", "\\ud800"]}', headers=JSON)
        responses = await asyncio.gather(
            *(http.post("/rerank", json={"query": q, "texts": texts}) for q, texts in good[:3]),
            bad,
            *(http.post("/rerank", json={"query": q, "texts": texts}) for q, texts in good[3:]),
        )
    assert responses[3].status_code == 422 and responses[3].json()["message"].startswith("texts[1]")
    for (query, texts), response in zip(good, responses[:3] + responses[4:]):
        assert response.status_code == 200, response.text
        want = scorer.score(query, texts)
        for item in response.json():
            assert math.isclose(item["score"], want[item["index"]].probability, abs_tol=1e-4)
    assert server.metric("crossrank_http_requests_total", status="500") == 0


@pytest.mark.parametrize(
    ("headers", "got"),
    [
        ({"content-type": "text/plain"}, "'text/plain'"),
        (
            {"content-type": "application/x-www-form-urlencoded"},
            "'application/x-www-form-urlencoded'",
        ),  # curl -d
        ({}, "no Content-Type"),
    ],
)
def test_a_body_that_is_not_sent_as_json_is_415(
    client: httpx.Client, headers: dict[str, str], got: str
) -> None:
    body = b'{"query": "q", "documents": ["a"]}'
    response = client.post("/v1/rerank", content=body, headers=headers)
    assert response.status_code == 415, response.text
    message = response.json()["message"]
    assert "Content-Type: application/json" in message and got in message, message
    # a +json media type is JSON
    assert (
        client.post(
            "/v1/rerank", content=body, headers={"content-type": "application/vnd.api+json"}
        ).status_code
        == 200
    )
