"""A client that stops reading an event stream: the server aborts its connection (freeing the
socket and what it buffers) and ends its run, instead of holding both until the client reads."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from server.app import create_app
from server.settings import Settings
from tests.fakes import TrickleChatModel
from tests.liveserver import LiveServer
from tests.server.conftest import API_KEY, only


@pytest.mark.live
@pytest.mark.skipif(not hasattr(socket, "TCP_USER_TIMEOUT"), reason="Linux socket option")
def test_a_client_that_stops_reading_is_disconnected_and_its_run_cancelled(
    tmp_path: Path,
) -> None:
    # 16 MB of tokens over 10 s or more: far beyond what the socket buffers hold.
    model = TrickleChatModel(reply=" ".join(["x" * 8_000] * 2_000), token_delay_s=0.005)
    settings = Settings(data_dir=tmp_path / "data", python_backend_api_key=API_KEY)
    app = create_app(settings, chat_provider_factory=only(model))
    body = json.dumps({"system": "Be brief.", "user": "Talk."}).encode()
    request = (
        f"POST /v1/llm/generate HTTP/1.1\r\nhost: 127.0.0.1\r\nx-api-key: {API_KEY}\r\n"
        "accept: text/event-stream\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\n\r\n"
    ).encode() + body
    # The send timeout's stand-in: 2 s instead of 30.
    with LiveServer(app, stall_timeout_s=2.0) as url:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 128 * 1024)
        sock.settimeout(10)
        try:
            sock.connect(("127.0.0.1", int(url.rsplit(":", 1)[1])))
            sock.sendall(request)
            assert sock.recv(4096).startswith(b"HTTP/1.1 200")
            # Stop reading: the server's buffers fill, then the connection and the run must go.
            assert model.wait_cancelled(15), "the stalled client's run went on"
            assert not model.finished
            # Reading again finds the stream cut (the aborted connection answers with a reset),
            # not the rest of the answer.
            tail = b""
            try:
                while data := sock.recv(1 << 16):
                    tail = (tail + data)[-4096:]
            except ConnectionResetError:
                pass
            assert b"event: values" not in tail
        finally:
            sock.close()
