"""`server.serving.listening_socket`: what every accepted connection inherits."""

from __future__ import annotations

import asyncio
import socket

from server.serving import listening_socket


async def test_accepted_connections_send_small_writes_at_once() -> None:
    # asyncio turns Nagle's algorithm off only for sockets whose `proto` is IPPROTO_TCP; a
    # listener made with proto 0 passes 0 on to every accepted socket, and each SSE frame then
    # waits for the client's delayed ACK (about 40 ms on Linux).
    sock = listening_socket("127.0.0.1", 0)
    nodelay: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    async def accepted(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn: socket.socket = writer.get_extra_info("socket")
        nodelay.set_result(conn.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
        writer.close()

    server = await asyncio.start_server(accepted, sock=sock)
    try:
        port = sock.getsockname()[1]
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            assert await asyncio.wait_for(nodelay, 10) != 0
        finally:
            writer.close()
            await writer.wait_closed()
    finally:
        server.close()
        await server.wait_closed()


def test_accepted_connections_inherit_the_stall_timeout() -> None:
    with listening_socket("127.0.0.1", 0, stall_timeout_s=2.5) as sock:
        sock.listen()
        with socket.create_connection(sock.getsockname()) as client:
            conn, _ = sock.accept()
            with conn:
                assert client.fileno() >= 0
                assert conn.getsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT) == 2500
