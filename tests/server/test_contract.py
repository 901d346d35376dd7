"""Contract tests generated from the server's own OpenAPI schema with schemathesis.

Every operation gets valid and invalid generated inputs; no answer may be a 5xx,
and every answer must match the status codes and bodies the schema documents.
A second pass takes the generated bodies and puts into one of their values what
JSON generators never produce but Python's ``json`` accepts (``NaN``, ``Infinity``,
``1e400``, a lone surrogate): each must get a documented 422 naming that value's place.
The number of examples is bounded so the whole file runs in about a minute.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

pytest.importorskip("schemathesis")

import schemathesis
from hypothesis import HealthCheck, assume, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    positive_data_acceptance,
    response_schema_conformance,
    status_code_conformance,
)
from server_helpers import RunningServer, run_server, wait_ready

from crossrank.server import ServerSettings
from crossrank.server.errors import location

EXAMPLES_PER_OPERATION = 40


@pytest.fixture(scope="module")
def contract_server(server_settings: ServerSettings, rag_corpus) -> Iterator[RunningServer]:
    from crossrank.server.answer import AnswerService

    with run_server(server_settings, answer_service=AnswerService(rag_corpus)) as running:
        wait_ready(running.url)
        yield running


def _schema_of_the_app() -> dict:
    # The same app the server runs, with /v1/answer on; building it connects to nothing.
    from crossrank.rag.settings import RagSettings
    from crossrank.server import create_app
    from crossrank.server.answer import AnswerService

    return create_app(ServerSettings(), answer_service=AnswerService(RagSettings())).openapi()


# Loaded from the app at collection time (schemathesis' fixture-based loader does not
# work with pytest 9); the requests go to the live server of the ``contract_server`` fixture.
schema = schemathesis.openapi.from_dict(_schema_of_the_app())


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,  # the same inputs on every run: a CI failure reproduces locally
    database=None,
)
def test_generated_requests_never_get_a_server_error(case, contract_server: RunningServer) -> None:
    # Schema-valid input may still break a per-deployment limit (CROSSRANK_SERVER_MAX_DOCUMENTS, characters,
    # min_keep <= top_n) and get the documented 422, so "valid data is accepted" is not checked;
    # every other check is, including "no 5xx" and "the answer matches the documented schema".
    case.call_and_validate(
        base_url=contract_server.url, timeout=60, excluded_checks=[positive_data_acceptance]
    )


# What goes into the body in place of one value, as raw JSON text.
POISONS = ["NaN", "Infinity", "-Infinity", "1e400", '"\\ud800"', '"text \\udfff"', '{"k\\udc00": 1}']
_MARK = "__crossrank_poison__"


def _places(value: Any, loc: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    """Every value's place in a JSON body (not the body itself)."""
    out: list[tuple[str | int, ...]] = [loc] if loc else []
    if isinstance(value, dict):
        for key, child in value.items():
            out += _places(child, (*loc, key))
    elif isinstance(value, list):
        for i, child in enumerate(value):
            out += _places(child, (*loc, i))
    return out


def _replaced(value: Any, loc: tuple[str | int, ...], new: Any) -> Any:
    if not loc:
        return new
    head, rest = loc[0], loc[1:]
    if isinstance(value, dict):
        return {k: _replaced(v, rest, new) if k == head else v for k, v in value.items()}
    return [_replaced(v, rest, new) if i == head else v for i, v in enumerate(value)]


@schema.include(method="POST").parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
    database=None,
)
def test_generated_bodies_with_a_non_finite_number_or_lone_surrogate_get_a_located_422(
    case, contract_server: RunningServer
) -> None:
    assume(isinstance(case.body, dict))
    places = _places(case.body)
    assume(places)
    # Which value, and what goes in, follow from the generated body: varied across examples,
    # the same on every run. (@schema.given cannot be combined with the schema's examples.)
    digest = int.from_bytes(hashlib.sha256(repr(case.body).encode()).digest()[:8], "big")
    place = places[digest % len(places)]
    poison = POISONS[(digest // len(places)) % len(POISONS)]
    body = json.dumps(_replaced(case.body, place, _MARK)).replace(f'"{_MARK}"', poison)
    response = httpx.post(
        contract_server.url + case.formatted_path,
        content=body.encode(),
        headers={"content-type": "application/json"},
        timeout=60,
    )
    case.validate_response(
        response,
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
        ],
    )
    assert response.status_code == 422, (body, response.text)
    assert response.json()["message"].startswith(location(("body", *place))), (body, response.text)
