"""User tokens through the whole app: ES256 keys from a JWKS served on loopback."""

from __future__ import annotations

from tests.server.auth.conftest import ISSUER, JwksServer, SigningKey, claims, sign
from tests.server.conftest import Serve
from tests.server.test_app import QUIZ, assert_error
from tools.demo import DEMO_STUDENT_IDS


def test_es256_tokens_from_the_projects_jwks(
    serve: Serve, jwks_server: JwksServer, ec_key: SigningKey, ec_key_2: SigningKey
) -> None:
    with serve(
        supabase_jwt_secret=None, supabase_jwks_url=jwks_server.url, supabase_jwt_issuer=ISSUER
    ) as api:
        good = sign(ec_key, claims(sub=DEMO_STUDENT_IDS[0]))
        assert api.post("/v1/quiz/generate", QUIZ, token=good).status_code == 200
        tampered = good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB")
        assert_error(api.post("/v1/quiz/generate", QUIZ, token=tampered), 401, "invalid_user_token")
        unknown_kid = sign(ec_key_2, claims())
        assert_error(
            api.post("/v1/quiz/generate", QUIZ, token=unknown_kid), 401, "invalid_user_token"
        )
        alg_none = good.split(".")
        assert_error(
            api.post(
                "/v1/quiz/generate",
                QUIZ,
                token="eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0." + alg_none[1] + ".",
            ),
            401,
            "invalid_user_token",
        )


def test_unreachable_and_missing_auth_configuration(serve: Serve) -> None:
    token = "eyJhbGciOiJFUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJ4In0.c2ln"
    closed = "http://127.0.0.1:9/auth/v1/.well-known/jwks.json"
    with serve(supabase_jwt_secret=None, supabase_jwks_url=closed) as api:
        assert_error(api.post("/v1/quiz/generate", QUIZ, token=token), 502, "user_auth_unavailable")
    with serve(supabase_jwt_secret=None, supabase_jwks_url=None, supabase_url=None) as api:
        assert_error(
            api.post("/v1/quiz/generate", QUIZ, token=token), 503, "backend_user_auth_misconfigured"
        )
        # Without a user token the service key alone still works.
        assert api.post("/v1/quiz/generate", QUIZ).status_code == 200
