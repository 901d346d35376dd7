"""The API key check: ``Authorization: Bearer <CROSSRANK_SERVER_API_KEY>`` on every scoring route.

Example:
    ```python
    from fastapi import Depends, FastAPI
    from crossrank.server.auth import api_key_dependency
    from crossrank.server.routes import rerank
    from crossrank.server.settings import ServerSettings

    app = FastAPI()
    app.include_router(rerank.router, dependencies=[Depends(api_key_dependency(ServerSettings(api_key="s3cret")))])
    ```
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, HTTPException
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from crossrank.server.settings import ServerSettings

_bearer = HTTPBearer(auto_error=False, description="The server's CROSSRANK_SERVER_API_KEY.")


def api_key_dependency(settings: ServerSettings) -> Callable[..., Awaitable[None]]:
    """The dependency that guards the scoring routes: a key check, or open access when no key is set.

    Two functions rather than one that skips the check, so that the OpenAPI schema
    declares Bearer auth only when the server really requires it.
    """
    if settings.api_key is None:

        async def open_access() -> None:
            return None

        return open_access
    expected = settings.api_key.get_secret_value().encode()

    async def check_api_key(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> None:
        if credentials is None or not secrets.compare_digest(credentials.credentials.encode(), expected):
            raise HTTPException(  # counted and logged as "unauthorized" by the metrics middleware
                401,
                "missing or wrong API key: send the header 'Authorization: Bearer <key>'",
                headers={"WWW-Authenticate": "Bearer"},
            )

    return check_api_key
