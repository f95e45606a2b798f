"""Who is calling: the service key check and the optional (or required) user token."""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from starlette.requests import HTTPConnection

from server.auth.tokens import TokenVerifier, UserClaims
from server.errors import ApiError
from server.settings import Settings


@dataclass(frozen=True, slots=True)
class Principal:
    """A caller that passed the service-key check, with its verified user when it sent one."""

    user: UserClaims | None

    @property
    def is_guest(self) -> bool:
        return self.user is not None and self.user.is_anonymous


def _bearer(conn: HTTPConnection) -> str | None:
    header = conn.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() or None if scheme.lower() == "bearer" else None


def _looks_like_jwt(value: str) -> bool:
    return value.count(".") == 2


def check_service_key(conn: HTTPConnection, settings: Settings) -> str | None:
    """Enforce the service key (fail closed); returns the bearer value left for a user token."""
    expected = settings.python_backend_api_key
    api_key = conn.headers.get("x-api-key")
    bearer = _bearer(conn)
    if expected is None:
        if not (settings.allow_unauthenticated or settings.dev_mode):
            raise ApiError(
                503,
                "backend_auth_misconfigured",
                "The AI backend has no service key configured, so it refuses every request.",
            )
        if api_key is None and bearer is not None and not _looks_like_jwt(bearer):
            return None
        return bearer
    if api_key is not None:
        if not hmac.compare_digest(api_key.encode(), expected.encode()):
            raise ApiError(401, "unauthorized", "The service key is not valid.")
        return bearer
    if bearer is not None and hmac.compare_digest(bearer.encode(), expected.encode()):
        return None
    raise ApiError(401, "unauthorized", "A valid service key is required.")


async def authenticate(
    conn: HTTPConnection,
    settings: Settings,
    verifier: TokenVerifier,
    *,
    require_user: bool = False,
) -> Principal:
    """Check the service key, then verify the user token when one is sent (or required)."""
    token = check_service_key(conn, settings)
    if token is None:
        if require_user:
            raise ApiError(401, "user_token_required", "Sign in again: a user token is required.")
        return Principal(user=None)
    return Principal(user=await verifier.verify(token))
