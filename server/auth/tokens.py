"""Local verification of Supabase user access tokens (JWTs) against the project's JWKS."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import httpx
import jwt

from server.errors import ApiError

# Supabase signs with one of these; anything else (notably `none` and HS384/512) is refused.
_ASYMMETRIC_ALGS = frozenset({"ES256", "RS256", "EdDSA"})
# Real access tokens are ~1 KB; refusing huge inputs keeps parsing cheap for garbage.
_MAX_TOKEN_CHARS = 16_384

_INVALID = "invalid_user_token"


def _invalid(message: str) -> ApiError:
    return ApiError(401, _INVALID, message)


@dataclass(frozen=True, slots=True)
class UserClaims:
    """The verified identity carried by a user access token."""

    user_id: str
    is_anonymous: bool
    role: str | None
    email: str | None
    claims: Mapping[str, Any]


class TokenVerifier:
    """Verifies user tokens locally: JWKS public keys (cached by `kid`), optionally HS256."""

    def __init__(
        self,
        *,
        jwks_url: str | None,
        issuer: str | None,
        audience: str | None = "authenticated",
        hs256_secret: str | None = None,
        http: httpx.AsyncClient | None = None,
        fetch_timeout_s: float = 5.0,
        cache_ttl_s: float = 600.0,
        min_refresh_interval_s: float = 30.0,
        leeway_s: float = 30.0,
    ) -> None:
        self._jwks_url = jwks_url or None
        self._issuer = issuer
        self._audience = audience
        self._hs256_secret = hs256_secret or None
        self._http = http
        self._owns_http = http is None
        self._fetch_timeout_s = fetch_timeout_s
        self._cache_ttl_s = cache_ttl_s
        self._min_refresh_interval_s = min_refresh_interval_s
        self._leeway_s = leeway_s
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at: float | None = None  # monotonic time of the last successful fetch
        self._attempted_at: float | None = None  # monotonic time of the last fetch attempt
        # Counts finished fetch attempts, so tasks queued on the lock can reuse the outcome.
        self._generation = 0
        self._last_failure: tuple[int, str, str] | None = None
        self._lock = asyncio.Lock()

    @property
    def configured(self) -> bool:
        """True when a JWKS URL or an HS256 secret is set."""
        return self._jwks_url is not None or self._hs256_secret is not None

    async def verify(self, token: str) -> UserClaims:
        """Verify `token` and return its claims, or raise ApiError."""
        if not self.configured:
            raise ApiError(
                503,
                "backend_user_auth_misconfigured",
                "User authentication is not configured on this server.",
            )
        if not isinstance(token, str) or not token or len(token) > _MAX_TOKEN_CHARS:
            raise _invalid("The user token is missing or malformed.")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise _invalid("The user token is malformed.") from None

        alg = header.get("alg")
        key: jwt.PyJWK | str
        if alg == "HS256":
            # The shared secret is the only HS256 key; a public key is never an HMAC secret,
            # which rules out algorithm confusion.
            if self._hs256_secret is None:
                raise _invalid("HS256-signed user tokens are not accepted by this server.")
            key = self._hs256_secret
        elif alg in _ASYMMETRIC_ALGS:
            if self._jwks_url is None:
                raise _invalid("Asymmetrically signed user tokens are not accepted here.")
            kid = header.get("kid")
            if not isinstance(kid, str) or not kid:
                raise _invalid("The user token does not name its signing key.")
            key = await self._key_for(kid)
            if key.algorithm_name != alg:
                raise _invalid("The user token algorithm does not match its signing key.")
        else:
            raise _invalid("The user token uses an unsupported signing algorithm.")

        claims = self._decode(token, key, alg)
        sub = claims.get("sub")
        if not isinstance(sub, str) or not sub.strip():
            raise _invalid("The user token has no subject.")
        user_id = _user_id(sub)
        role, email = claims.get("role"), claims.get("email")
        return UserClaims(
            user_id=user_id,
            is_anonymous=claims.get("is_anonymous") is True,
            role=role if isinstance(role, str) else None,
            email=email if isinstance(email, str) and email else None,
            claims=MappingProxyType(claims),
        )

    async def aclose(self) -> None:
        """Close the HTTP client if this verifier created it."""
        if self._owns_http and self._http is not None:
            await self._http.aclose()
            self._http = None

    def _decode(self, token: str, key: jwt.PyJWK | str, alg: str) -> dict[str, Any]:
        try:
            return jwt.decode(
                token,
                key,
                algorithms=[alg],
                audience=self._audience,
                issuer=self._issuer,
                leeway=self._leeway_s,
                options={
                    "require": ["exp", "sub"],
                    "verify_aud": self._audience is not None,
                    "verify_iss": self._issuer is not None,
                },
            )
        except jwt.ExpiredSignatureError:
            raise _invalid("The user token has expired.") from None
        except jwt.ImmatureSignatureError:
            raise _invalid("The user token is not valid yet.") from None
        except jwt.InvalidAudienceError:
            raise _invalid("The user token was issued for a different audience.") from None
        except jwt.InvalidIssuerError:
            raise _invalid("The user token was issued by an unexpected issuer.") from None
        except jwt.MissingRequiredClaimError as exc:
            raise _invalid(f"The user token lacks the required '{exc.claim}' claim.") from None
        except jwt.InvalidSignatureError:
            raise _invalid("The user token signature is invalid.") from None
        except jwt.PyJWTError:
            raise _invalid("The user token is malformed or invalid.") from None

    def _cache_fresh(self, now: float) -> bool:
        return self._fetched_at is not None and now - self._fetched_at < self._cache_ttl_s

    async def _key_for(self, kid: str) -> jwt.PyJWK:
        key = self._keys.get(kid)
        if key is not None and self._cache_fresh(time.monotonic()):
            return key
        generation = self._generation
        async with self._lock:
            if self._generation != generation:
                # Another task fetched while we waited: share its outcome instead of refetching.
                if self._last_failure is not None:
                    raise ApiError(*self._last_failure)
            else:
                now = time.monotonic()
                recently_tried = (
                    self._attempted_at is not None
                    and now - self._attempted_at < self._min_refresh_interval_s
                )
                # An unknown kid may refetch a fresh cache only once per interval, so tokens
                # with random kids cannot hammer the auth server; an expired cache always refetches.
                if not self._cache_fresh(now) or not recently_tried:
                    await self._refresh()
            key = self._keys.get(kid)
        if key is None:
            raise _invalid("The user token was signed with an unknown key.")
        return key

    async def _refresh(self) -> None:
        assert self._jwks_url is not None
        self._attempted_at = time.monotonic()
        # The generation is bumped only once an attempt has an outcome, so every task queued
        # meanwhile sees it; a cancelled fetch leaves it alone and the next waiter retries.
        try:
            self._keys = await self._fetch_keys(self._jwks_url)
        except ApiError as exc:
            self._last_failure = (exc.status, exc.code, exc.message)
            self._generation += 1
            raise
        self._last_failure = None
        self._fetched_at = time.monotonic()
        self._generation += 1

    async def _fetch_keys(self, url: str) -> dict[str, jwt.PyJWK]:
        if self._http is None:
            self._http = httpx.AsyncClient(timeout=self._fetch_timeout_s)
        try:
            response = await self._http.get(url, timeout=self._fetch_timeout_s)
        except httpx.TimeoutException:
            raise ApiError(
                504, "user_auth_timeout", "The user authentication service timed out."
            ) from None
        except httpx.HTTPError:
            raise _unavailable("could not be reached") from None
        if not response.is_success:
            raise _unavailable(f"answered with HTTP {response.status_code}")
        try:
            document = response.json()
        except ValueError:
            raise _unavailable("returned a response that is not JSON") from None
        entries = document.get("keys") if isinstance(document, dict) else None
        if not isinstance(entries, list):
            raise _unavailable("returned a document without a key list")

        keys: dict[str, jwt.PyJWK] = {}
        for entry in entries:
            # Skip anything unusable rather than failing the whole set: one odd key must not
            # lock every user out. Symmetric (`oct`) keys never come from a JWKS we trust.
            if not isinstance(entry, dict) or entry.get("use", "sig") != "sig":
                continue
            kid = entry.get("kid")
            if not isinstance(kid, str) or not kid or entry.get("kty") == "oct":
                continue
            try:
                key = jwt.PyJWK(entry)
            except jwt.PyJWTError:
                continue
            if key.algorithm_name in _ASYMMETRIC_ALGS:
                keys[kid] = key
        return keys


def _user_id(sub: str) -> str:
    """The subject as a user id: Supabase user ids are UUIDs, and every table keys users by
    one, so any other subject (even validly signed) is an invalid token, never a database
    error. Returned in the canonical lower-case form request bodies are compared in."""
    try:
        parsed = uuid.UUID(sub)
    except ValueError:
        raise _invalid("The user token's subject is not a user id.") from None
    if str(parsed) != sub.lower():  # braces, URN prefixes, missing hyphens
        raise _invalid("The user token's subject is not a user id.")
    return str(parsed)


def _unavailable(detail: str) -> ApiError:
    return ApiError(502, "user_auth_unavailable", f"The user authentication service {detail}.")


def sign_dev_token(
    secret: str,
    *,
    user_id: str,
    issuer: str | None,
    audience: str = "authenticated",
    ttl_s: int = 3600,
    is_anonymous: bool = False,
    extra: Mapping[str, Any] | None = None,
) -> str:
    """Sign an HS256 token shaped like a Supabase access token (local dev and tests only)."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": user_id,
        "aud": audience,
        "iat": now,
        "exp": now + ttl_s,
        # Supabase gives anonymous sign-ins the `authenticated` role too, flagged by is_anonymous.
        "role": "authenticated",
        "is_anonymous": is_anonymous,
    }
    if issuer is not None:
        claims["iss"] = issuer
    if extra:
        claims.update(extra)
    return jwt.encode(claims, secret, algorithm="HS256")
