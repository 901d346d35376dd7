"""crossrank.server.auth: the API key dependency on a real FastAPI app, and what the OpenAPI schema declares."""

from __future__ import annotations

from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient

from crossrank.server.auth import api_key_dependency
from crossrank.server.settings import ServerSettings


def _app(api_key: str | None) -> FastAPI:
    app = FastAPI()

    @app.get("/guarded", dependencies=[Depends(api_key_dependency(ServerSettings(api_key=api_key)))])
    async def guarded() -> dict[str, str]:
        return {"ok": "yes"}

    return app


def test_without_a_key_every_request_passes_and_the_schema_declares_no_auth() -> None:
    app = _app(None)
    assert TestClient(app).get("/guarded").json() == {"ok": "yes"}
    assert "securitySchemes" not in app.openapi().get("components", {})


def test_with_a_key_only_the_right_bearer_token_passes() -> None:
    app = _app("s3cret")
    client = TestClient(app)
    assert client.get("/guarded", headers={"Authorization": "Bearer s3cret"}).status_code == 200
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic s3cret"}):
        reply = client.get("/guarded", headers=headers)
        assert reply.status_code == 401, headers
        assert reply.headers["WWW-Authenticate"] == "Bearer"
        assert "Authorization: Bearer <key>" in reply.json()["detail"]
    schemes = app.openapi()["components"]["securitySchemes"]
    assert [s["scheme"] for s in schemes.values()] == ["bearer"]
