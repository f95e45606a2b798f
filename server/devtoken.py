"""`make token USER=<demo id>`: print a short-lived user token for a demo user (dev mode only)."""

from __future__ import annotations

import argparse
import sys

from server.auth.tokens import sign_dev_token
from server.devmode import DEV_ISSUER, dev_jwt_secret
from server.settings import Settings
from tools.demo import DEMO_GUEST_ID, DEMO_STUDENT_IDS, DEMO_TEACHER_ID

DEMO_USERS = {DEMO_TEACHER_ID, *DEMO_STUDENT_IDS, DEMO_GUEST_ID}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("user", help="a demo user id (see README)")
    parser.add_argument("--ttl", type=int, default=3600, help="lifetime in seconds (max 86400)")
    args = parser.parse_args(argv)
    settings = Settings()
    if not settings.dev_mode:
        print("Dev tokens exist only in local dev mode (STEMGRAPH_DEV_MODE=true).", file=sys.stderr)
        return 2
    if args.user not in DEMO_USERS:
        print(f"Unknown demo user. Choose one of: {', '.join(sorted(DEMO_USERS))}", file=sys.stderr)
        return 2
    token = sign_dev_token(
        dev_jwt_secret(settings.data_dir),
        user_id=args.user,
        issuer=DEV_ISSUER,
        ttl_s=max(60, min(args.ttl, 86_400)),
        is_anonymous=args.user == DEMO_GUEST_ID,
    )
    print(token)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
