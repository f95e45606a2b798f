"""Fixtures for token verification: real key pairs and a real JWKS server on loopback."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

from server.auth.tokens import TokenVerifier

ISSUER = "http://127.0.0.1:54321/auth/v1"
HS256_SECRET = "local-dev-secret-that-is-at-least-32-bytes-long"


@dataclass(frozen=True)
class SigningKey:
    """A private key plus the public JWK a Supabase project would publish for it."""

    kid: str
    alg: str
    private_key: Any
    public_jwk: dict[str, Any]
    public_pem: bytes


def _signing_key(kid: str, alg: str) -> SigningKey:
    private_key: Any
    if alg == "ES256":
        private_key = ec.generate_private_key(ec.SECP256R1())
        jwk = ECAlgorithm.to_jwk(private_key.public_key(), as_dict=True)
    elif alg == "RS256":
        private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        jwk = RSAAlgorithm.to_jwk(private_key.public_key(), as_dict=True)
    else:
        private_key = ed25519.Ed25519PrivateKey.generate()
        jwk = OKPAlgorithm.to_jwk(private_key.public_key(), as_dict=True)
    jwk.update({"kid": kid, "alg": alg, "use": "sig"})
    pem = private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return SigningKey(kid, alg, private_key, jwk, pem)


@pytest.fixture(scope="session")
def ec_key() -> SigningKey:
    return _signing_key("ec-key-1", "ES256")


@pytest.fixture(scope="session")
def ec_key_2() -> SigningKey:
    """A second P-256 key: the rotation target, or an attacker's key."""
    return _signing_key("ec-key-2", "ES256")


@pytest.fixture(scope="session")
def rsa_key() -> SigningKey:
    return _signing_key("rsa-key-1", "RS256")


@pytest.fixture(scope="session")
def ed_key() -> SigningKey:
    return _signing_key("ed-key-1", "EdDSA")


class JwksServer:
    """A JWKS endpoint on 127.0.0.1 whose answer the test controls, counting every GET."""

    def __init__(self) -> None:
        self.jwks: dict[str, Any] = {"keys": []}
        self.status = 200
        self.raw_body: bytes | None = None  # sent verbatim instead of the JSON key set
        self.delay_s = 0.0
        self._count = 0
        self._count_lock = threading.Lock()
        self._release = threading.Event()  # cuts delays short at teardown
        state = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                with state._count_lock:
                    state._count += 1
                if state.delay_s:
                    state._release.wait(state.delay_s)
                body = state.raw_body
                if body is None:
                    body = json.dumps(state.jwks).encode()
                self.send_response(state.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep test output clean

        class Server(ThreadingHTTPServer):
            daemon_threads = False  # so server_close() joins handler threads

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # clients that time out hang up mid-response; that is expected

        self._server = Server(("127.0.0.1", 0), Handler)
        # A short poll interval keeps shutdown() (and so each test's teardown) fast.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        port = self._server.server_address[1]
        return f"http://127.0.0.1:{port}/auth/v1/.well-known/jwks.json"

    @property
    def requests(self) -> int:
        with self._count_lock:
            return self._count

    def publish(self, *keys: SigningKey) -> None:
        self.jwks = {"keys": [k.public_jwk for k in keys]}

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


@pytest.fixture
def jwks_server(
    ec_key: SigningKey, rsa_key: SigningKey, ed_key: SigningKey
) -> Iterator[JwksServer]:
    server = JwksServer()
    server.publish(ec_key, rsa_key, ed_key)
    server.start()
    try:
        yield server
    finally:
        server.stop()


MakeVerifier = Callable[..., TokenVerifier]


@pytest.fixture
async def make_verifier(jwks_server: JwksServer) -> AsyncIterator[MakeVerifier]:
    """Build verifiers pointed at the test JWKS by default; every one is closed afterwards."""
    made: list[TokenVerifier] = []

    def make(**overrides: Any) -> TokenVerifier:
        options: dict[str, Any] = {"jwks_url": jwks_server.url, "issuer": ISSUER}
        options.update(overrides)
        verifier = TokenVerifier(**options)
        made.append(verifier)
        return verifier

    yield make
    for verifier in made:
        await verifier.aclose()


def claims(**overrides: Any) -> dict[str, Any]:
    """Supabase-like access token claims, valid for an hour; `None` values drop a claim."""
    now = int(time.time())
    base: dict[str, Any] = {
        "sub": str(uuid.uuid4()),
        "aud": "authenticated",
        "iss": ISSUER,
        "iat": now,
        "exp": now + 3600,
        "role": "authenticated",
        "email": "learner@example.com",
        "is_anonymous": False,
    }
    base.update(overrides)
    return {name: value for name, value in base.items() if value is not None}


def sign(key: SigningKey, payload: dict[str, Any], *, kid: str | None = None) -> str:
    """Sign `payload` with `key`, naming `kid` (default: the key's own) in the header."""
    return jwt.encode(payload, key.private_key, algorithm=key.alg, headers={"kid": kid or key.kid})
