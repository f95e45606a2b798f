"""A real uvicorn server on a free loopback port, in a background thread."""

from __future__ import annotations

import threading
import time
from types import TracebackType

import uvicorn
from starlette.types import ASGIApp

from server.serving import listening_socket
from server.streaming import SEND_TIMEOUT_SECONDS


class LiveServer:
    """`with LiveServer(app) as base_url:` serves `app` over a real socket until the block ends."""

    def __init__(
        self, app: ASGIApp, *, stall_timeout_s: float | None = SEND_TIMEOUT_SECONDS
    ) -> None:
        self._server = uvicorn.Server(
            uvicorn.Config(app, log_config=None, access_log=False, lifespan="on", ws="none")
        )
        # The server's own listening socket (`server.serving`), as `python -m server` uses.
        self._socket = listening_socket("127.0.0.1", 0, stall_timeout_s=stall_timeout_s)
        self.port = int(self._socket.getsockname()[1])
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> str:
        self._thread.start()
        deadline = time.monotonic() + 20
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the test server did not start")
            time.sleep(0.01)
        return self.url

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=20)
        self._socket.close()
