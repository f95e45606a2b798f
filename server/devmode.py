"""Local dev mode: a per-machine signing secret for demo user tokens (never used in production)."""

from __future__ import annotations

import secrets
from pathlib import Path

DEV_ISSUER = "stemgraph-dev"
_SECRET_FILE = "dev-jwt-secret"


def dev_jwt_secret(data_dir: Path) -> str:
    """The data dir's dev signing secret, created on first use (mode 0600)."""
    path = data_dir / _SECRET_FILE
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_hex(32)
    path.touch(mode=0o600)
    path.write_text(secret, encoding="utf-8")
    return secret
