"""TokenVerifier against real keys and a real JWKS endpoint on loopback."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import socket
import time
from typing import Any

import httpx
import jwt
import pytest

from server.auth.tokens import TokenVerifier, sign_dev_token
from server.errors import ApiError
from tests.server.auth.conftest import (
    HS256_SECRET,
    ISSUER,
    JwksServer,
    MakeVerifier,
    SigningKey,
    claims,
    sign,
)

USER = "0a11ce00-0000-4000-8000-000000000001"
DEV = "0de70000-0000-4000-8000-000000000001"
ANON = "0a707000-0000-4000-8000-000000000001"
ROTATED = "07a7ed00-0000-4000-8000-000000000001"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _segment(obj: dict[str, Any]) -> str:
    return _b64(json.dumps(obj, separators=(",", ":")).encode())


async def _rejected(verifier: TokenVerifier, token: str) -> ApiError:
    """Assert `token` is refused as an invalid user token, without echoing it."""
    with pytest.raises(ApiError) as info:
        await verifier.verify(token)
    assert (info.value.status, info.value.code) == (401, "invalid_user_token")
    if len(token) >= 8:  # shorter strings may legitimately occur in any sentence
        assert token not in info.value.message and token not in repr(info.value)
    return info.value


# --- accepted tokens ---------------------------------------------------------------------------


@pytest.mark.parametrize("key_fixture", ["ec_key", "rsa_key", "ed_key"])
async def test_valid_asymmetric_token(
    make_verifier: MakeVerifier, request: pytest.FixtureRequest, key_fixture: str
) -> None:
    key: SigningKey = request.getfixturevalue(key_fixture)
    payload = claims(sub=USER)
    user = await make_verifier().verify(sign(key, payload))
    assert user.user_id == USER
    assert user.is_anonymous is False
    assert user.role == "authenticated"
    assert user.email == "learner@example.com"
    assert user.claims["aud"] == "authenticated"
    assert dict(user.claims) == payload


async def test_anonymous_claim_is_parsed(make_verifier: MakeVerifier, ec_key: SigningKey) -> None:
    user = await make_verifier().verify(sign(ec_key, claims(is_anonymous=True, email="")))
    assert user.is_anonymous is True
    assert user.email is None


async def test_leeway_tolerates_small_clock_skew(
    make_verifier: MakeVerifier, ec_key: SigningKey
) -> None:
    now = int(time.time())
    token = sign(ec_key, claims(nbf=now + 10, iat=now + 10, exp=now - 10))
    assert (await make_verifier(leeway_s=30).verify(token)).user_id


async def test_no_audience_or_issuer_check_when_disabled(
    make_verifier: MakeVerifier, ec_key: SigningKey
) -> None:
    token = sign(ec_key, claims(aud="elsewhere", iss="https://other.example"))
    verifier = make_verifier(audience=None, issuer=None)
    assert (await verifier.verify(token)).claims["aud"] == "elsewhere"


# --- rejected tokens ---------------------------------------------------------------------------


async def test_tampered_payload_char_is_rejected(
    make_verifier: MakeVerifier, ec_key: SigningKey
) -> None:
    header, payload, signature = sign(ec_key, claims()).split(".")
    middle = len(payload) // 2
    flipped = "B" if payload[middle] != "B" else "C"
    token = ".".join([header, payload[:middle] + flipped + payload[middle + 1 :], signature])
    await _rejected(make_verifier(), token)


async def test_swapped_payload_fails_signature(
    make_verifier: MakeVerifier, ec_key: SigningKey
) -> None:
    header, _, signature = sign(ec_key, claims(sub="victim")).split(".")
    token = ".".join([header, _segment(claims(sub="attacker")), signature])
    error = await _rejected(make_verifier(), token)
    assert "signature" in error.message


async def test_token_signed_by_unpublished_key_with_known_kid(
    make_verifier: MakeVerifier, ec_key: SigningKey, ec_key_2: SigningKey
) -> None:
    await _rejected(make_verifier(), sign(ec_key_2, claims(), kid=ec_key.kid))


@pytest.mark.parametrize(
    ("overrides", "needle"),
    [
        ({"exp": int(time.time()) - 3600}, "expired"),
        ({"exp": None}, "exp"),
        ({"aud": "service_role"}, "audience"),
        ({"aud": None}, "aud"),
        ({"iss": "https://evil.example/auth/v1"}, "issuer"),
        ({"iss": None}, "iss"),
        ({"sub": None}, "sub"),
        ({"sub": ""}, "subject"),
        ({"sub": "user-123"}, "subject"),
        ({"sub": "{" + USER + "}"}, "subject"),
        ({"sub": USER.replace("-", "")}, "subject"),
        ({"sub": "urn:uuid:" + USER}, "subject"),
        ({"nbf": int(time.time()) + 3600}, "not valid yet"),
    ],
    ids=[
        "expired",
        "no-exp",
        "wrong-aud",
        "no-aud",
        "wrong-iss",
        "no-iss",
        "no-sub",
        "empty-sub",
        "sub-not-a-uuid",
        "sub-in-braces",
        "sub-without-hyphens",
        "sub-as-urn",
        "nbf-future",
    ],
)
async def test_claim_checks(
    make_verifier: MakeVerifier, ec_key: SigningKey, overrides: dict[str, Any], needle: str
) -> None:
    error = await _rejected(make_verifier(), sign(ec_key, claims(**overrides)))
    assert needle in error.message


@pytest.mark.parametrize("alg", ["none", "None", "NONE"])
async def test_alg_none_is_rejected(
    make_verifier: MakeVerifier, jwks_server: JwksServer, ec_key: SigningKey, alg: str
) -> None:
    header = _segment({"alg": alg, "typ": "JWT", "kid": ec_key.kid})
    token = f"{header}.{_segment(claims())}."
    await _rejected(make_verifier(), token)
    # Also refused when the shared secret is configured.
    await _rejected(make_verifier(hs256_secret=HS256_SECRET), token)
    assert jwks_server.requests == 0  # rejected before any key lookup


@pytest.mark.parametrize("garbage", ["", "not-a-jwt", "a.b.c", "x" * 20_000])
async def test_malformed_tokens(make_verifier: MakeVerifier, garbage: str) -> None:
    await _rejected(make_verifier(), garbage)


async def test_alg_must_match_the_jwk(
    make_verifier: MakeVerifier, rsa_key: SigningKey, ec_key: SigningKey
) -> None:
    # RS256 signature, but the header names the EC key's kid.
    await _rejected(make_verifier(), sign(rsa_key, claims(), kid=ec_key.kid))


# --- HS256 -------------------------------------------------------------------------------------


async def test_hs256_refused_without_secret(make_verifier: MakeVerifier) -> None:
    token = jwt.encode(claims(), HS256_SECRET, algorithm="HS256")
    error = await _rejected(make_verifier(), token)
    assert "HS256" in error.message


async def test_hs256_accepted_with_secret(make_verifier: MakeVerifier) -> None:
    token = jwt.encode(claims(sub=DEV), HS256_SECRET, algorithm="HS256")
    verifier = make_verifier(jwks_url=None, hs256_secret=HS256_SECRET)
    assert (await verifier.verify(token)).user_id == DEV
    # The same user id in upper case is the same user.
    upper = jwt.encode(claims(sub=DEV.upper()), HS256_SECRET, algorithm="HS256")
    assert (await verifier.verify(upper)).user_id == DEV


async def test_hs256_wrong_secret_rejected(make_verifier: MakeVerifier) -> None:
    token = jwt.encode(claims(), "another-secret-that-is-also-32-bytes-long!", algorithm="HS256")
    await _rejected(make_verifier(hs256_secret=HS256_SECRET), token)


@pytest.mark.parametrize("secret", [None, HS256_SECRET])
async def test_algorithm_confusion_with_public_key_pem(
    make_verifier: MakeVerifier, ec_key: SigningKey, secret: str | None
) -> None:
    # PyJWT refuses to sign HMAC with a PEM, so forge the token by hand like an attacker would.
    header = _segment({"alg": "HS256", "typ": "JWT", "kid": ec_key.kid})
    signing_input = f"{header}.{_segment(claims())}"
    mac = hmac.new(ec_key.public_pem, signing_input.encode(), hashlib.sha256).digest()
    await _rejected(make_verifier(hs256_secret=secret), f"{signing_input}.{_b64(mac)}")


async def test_asymmetric_token_refused_when_only_secret_configured(
    make_verifier: MakeVerifier, ec_key: SigningKey
) -> None:
    verifier = make_verifier(jwks_url=None, hs256_secret=HS256_SECRET)
    await _rejected(verifier, sign(ec_key, claims()))


async def test_unconfigured_verifier() -> None:
    verifier = TokenVerifier(jwks_url=None, issuer=ISSUER)
    assert verifier.configured is False
    with pytest.raises(ApiError) as info:
        await verifier.verify(sign_dev_token(HS256_SECRET, user_id="u", issuer=ISSUER))
    assert (info.value.status, info.value.code) == (503, "backend_user_auth_misconfigured")
    await verifier.aclose()


def test_configured_property() -> None:
    assert TokenVerifier(jwks_url="http://127.0.0.1:1/jwks", issuer=None).configured
    assert TokenVerifier(jwks_url=None, issuer=None, hs256_secret=HS256_SECRET).configured
    assert not TokenVerifier(jwks_url="", issuer=None, hs256_secret="").configured


# --- sign_dev_token ----------------------------------------------------------------------------


async def test_sign_dev_token_round_trip(make_verifier: MakeVerifier) -> None:
    token = sign_dev_token(
        HS256_SECRET, user_id=DEV, issuer=ISSUER, extra={"email": "dev@example.com"}
    )
    user = await make_verifier(jwks_url=None, hs256_secret=HS256_SECRET).verify(token)
    assert (user.user_id, user.role, user.email, user.is_anonymous) == (
        DEV,
        "authenticated",
        "dev@example.com",
        False,
    )
    assert user.claims["iss"] == ISSUER
    assert user.claims["exp"] - user.claims["iat"] == 3600


async def test_sign_dev_token_anonymous_without_issuer(make_verifier: MakeVerifier) -> None:
    token = sign_dev_token(HS256_SECRET, user_id=ANON, issuer=None, is_anonymous=True)
    verifier = make_verifier(jwks_url=None, issuer=None, hs256_secret=HS256_SECRET)
    user = await verifier.verify(token)
    assert user.is_anonymous is True
    assert "iss" not in user.claims
    # A verifier that pins the issuer refuses it.
    await _rejected(make_verifier(jwks_url=None, hs256_secret=HS256_SECRET), token)


async def test_sign_dev_token_expired(make_verifier: MakeVerifier) -> None:
    token = sign_dev_token(HS256_SECRET, user_id=DEV, issuer=ISSUER, ttl_s=-120)
    await _rejected(make_verifier(jwks_url=None, hs256_secret=HS256_SECRET), token)


# --- JWKS caching and refresh ------------------------------------------------------------------


async def test_cache_hit_makes_no_second_request(
    make_verifier: MakeVerifier, jwks_server: JwksServer, ec_key: SigningKey, rsa_key: SigningKey
) -> None:
    verifier = make_verifier()
    await verifier.verify(sign(ec_key, claims()))
    await verifier.verify(sign(ec_key, claims()))
    await verifier.verify(sign(rsa_key, claims()))
    assert jwks_server.requests == 1


async def test_cache_expires_after_ttl(
    make_verifier: MakeVerifier, jwks_server: JwksServer, ec_key: SigningKey
) -> None:
    verifier = make_verifier(cache_ttl_s=0.2)
    await verifier.verify(sign(ec_key, claims()))
    await asyncio.sleep(0.25)
    await verifier.verify(sign(ec_key, claims()))
    assert jwks_server.requests == 2


async def test_concurrent_verifies_share_one_fetch(
    make_verifier: MakeVerifier, jwks_server: JwksServer, ec_key: SigningKey
) -> None:
    jwks_server.delay_s = 0.1
    verifier = make_verifier()
    users = await asyncio.gather(*(verifier.verify(sign(ec_key, claims())) for _ in range(10)))
    assert len(users) == 10
    assert jwks_server.requests == 1


async def test_unknown_kid_refreshes_once_per_interval(
    make_verifier: MakeVerifier, jwks_server: JwksServer, ec_key: SigningKey, ec_key_2: SigningKey
) -> None:
    verifier = make_verifier(min_refresh_interval_s=0.3)
    await verifier.verify(sign(ec_key, claims()))
    assert jwks_server.requests == 1
    await asyncio.sleep(0.35)

    error = await _rejected(verifier, sign(ec_key_2, claims()))
    assert "unknown key" in error.message
    assert jwks_server.requests == 2  # the unknown kid triggered one refresh

    await _rejected(verifier, sign(ec_key_2, claims(), kid="random-kid"))
    await _rejected(verifier, sign(ec_key_2, claims()))
    assert jwks_server.requests == 2  # within the interval: no refetch
    # Known keys keep working from the cache meanwhile.
    await verifier.verify(sign(ec_key, claims()))
    assert jwks_server.requests == 2


async def test_unknown_kid_flood_does_not_refetch(
    make_verifier: MakeVerifier, jwks_server: JwksServer, ec_key: SigningKey
) -> None:
    verifier = make_verifier()
    tokens = [sign(ec_key, claims(), kid=f"random-{i}") for i in range(20)]
    results = await asyncio.gather(*(verifier.verify(t) for t in tokens), return_exceptions=True)
    assert all(isinstance(r, ApiError) and r.code == "invalid_user_token" for r in results)
    assert jwks_server.requests == 1


async def test_key_rotation_picked_up_on_refresh(
    make_verifier: MakeVerifier, jwks_server: JwksServer, ec_key: SigningKey, ec_key_2: SigningKey
) -> None:
    verifier = make_verifier(min_refresh_interval_s=0.2)
    await verifier.verify(sign(ec_key, claims()))
    jwks_server.publish(ec_key, ec_key_2)
    await asyncio.sleep(0.25)

    user = await verifier.verify(sign(ec_key_2, claims(sub=ROTATED)))
    assert user.user_id == ROTATED
    await verifier.verify(sign(ec_key, claims()))
    assert jwks_server.requests == 2


async def test_unusable_jwks_entries_are_skipped(
    make_verifier: MakeVerifier, jwks_server: JwksServer, ec_key: SigningKey
) -> None:
    jwks_server.jwks = {
        "keys": [
            "not-an-object",
            {"kty": "oct", "kid": "sym", "k": _b64(HS256_SECRET.encode())},
            {"kty": "EC", "kid": "broken", "crv": "P-256", "x": "AA", "y": "AA"},
            {**ec_key.public_jwk, "kid": "enc-key", "use": "enc"},
            ec_key.public_jwk,
        ]
    }
    verifier = make_verifier()
    assert (await verifier.verify(sign(ec_key, claims()))).user_id
    await _rejected(verifier, sign(ec_key, claims(), kid="enc-key"))


# --- JWKS failures -----------------------------------------------------------------------------


async def _auth_error(verifier: TokenVerifier, token: str) -> tuple[int, str]:
    with pytest.raises(ApiError) as info:
        await verifier.verify(token)
    assert token not in info.value.message
    return info.value.status, info.value.code


async def test_jwks_server_down(make_verifier: MakeVerifier, ec_key: SigningKey) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    verifier = make_verifier(jwks_url=f"http://127.0.0.1:{port}/jwks.json")
    status_code = await _auth_error(verifier, sign(ec_key, claims()))
    assert status_code == (502, "user_auth_unavailable")


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (500, None),
        (404, b'{"error": "not found"}'),
        (200, b"<html>oops</html>"),
        (200, b'{"no_keys": true}'),
        (200, b"[1, 2]"),
    ],
    ids=["http-500", "http-404", "not-json", "no-key-list", "json-array"],
)
async def test_jwks_bad_answers(
    make_verifier: MakeVerifier,
    jwks_server: JwksServer,
    ec_key: SigningKey,
    status: int,
    body: bytes | None,
) -> None:
    jwks_server.status, jwks_server.raw_body = status, body
    status_code = await _auth_error(make_verifier(), sign(ec_key, claims()))
    assert status_code == (502, "user_auth_unavailable")


async def test_jwks_timeout(
    make_verifier: MakeVerifier, jwks_server: JwksServer, ec_key: SigningKey
) -> None:
    jwks_server.delay_s = 2.0
    verifier = make_verifier(fetch_timeout_s=0.2)
    started = time.monotonic()
    status_code = await _auth_error(verifier, sign(ec_key, claims()))
    assert status_code == (504, "user_auth_timeout")
    assert time.monotonic() - started < 1.5


async def test_concurrent_waiters_share_a_failed_fetch(
    make_verifier: MakeVerifier, jwks_server: JwksServer, ec_key: SigningKey
) -> None:
    jwks_server.status, jwks_server.delay_s = 503, 0.1
    verifier = make_verifier()
    results = await asyncio.gather(
        *(verifier.verify(sign(ec_key, claims())) for _ in range(5)), return_exceptions=True
    )
    assert all(isinstance(r, ApiError) and r.status == 502 for r in results)
    assert jwks_server.requests == 1


async def test_recovers_after_jwks_outage(
    make_verifier: MakeVerifier, jwks_server: JwksServer, ec_key: SigningKey
) -> None:
    jwks_server.status = 500
    verifier = make_verifier()
    assert (await _auth_error(verifier, sign(ec_key, claims())))[0] == 502
    jwks_server.status = 200
    assert (await verifier.verify(sign(ec_key, claims()))).user_id
    assert jwks_server.requests == 2


# --- HTTP client ownership ---------------------------------------------------------------------


async def test_injected_client_is_used_and_left_open(
    jwks_server: JwksServer, ec_key: SigningKey
) -> None:
    async with httpx.AsyncClient() as client:
        verifier = TokenVerifier(jwks_url=jwks_server.url, issuer=ISSUER, http=client)
        await verifier.verify(sign(ec_key, claims()))
        await verifier.aclose()
        assert not client.is_closed
        assert jwks_server.requests == 1


async def test_aclose_is_idempotent(make_verifier: MakeVerifier, ec_key: SigningKey) -> None:
    verifier = make_verifier()
    await verifier.verify(sign(ec_key, claims()))
    await verifier.aclose()
    await verifier.aclose()
