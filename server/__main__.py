"""`python -m server`: serve on HOST:PORT (defaults 127.0.0.1:8000)."""

from __future__ import annotations

import os

from server.app import create_app
from server.logs import configure_logging
from server.serving import serve
from server.settings import Settings


def main() -> None:
    settings = Settings()
    configure_logging(fmt=settings.log_format, level=settings.log_level)
    serve(
        create_app(settings),
        host=os.environ.get("HOST", "127.0.0.1"),
        port=int(os.environ.get("PORT", "8000")),
        log_config=None,
        access_log=False,
        proxy_headers=False,
        # A hard stop after the app's own drain (`STEMGRAPH_SHUTDOWN_GRACE_SECONDS`) is over.
        timeout_graceful_shutdown=int(settings.shutdown_grace_seconds) + 15,
    )


if __name__ == "__main__":
    main()
