"""A Supabase Storage object API on loopback, for testing the real `supabase` client.

Enough of Storage's `/storage/v1/object` routes for a service-role client: download
(`GET object/{bucket}/{path}`), info (`GET object/info/{bucket}/{path}`, which the client's
`exists` reads), upload (`POST object/{bucket}/{path}`, multipart, `x-upsert`) and remove
(`DELETE object/{bucket}` with `{"prefixes": [...]}`). Every request must carry the service
key twice, as `Authorization: Bearer <key>` and as `apikey`. Errors use Storage's body,
`{"statusCode", "error", "message"}`, with Storage's legacy HTTP 400 for most of them
(`missing_status=404` serves a missing object the newer way).

    with StorageServer(key="service-key") as storage:
        storage.objects[("materials", "classes/c/m/notes.pdf")] = StoredObject(b"%PDF-...")
        ...  # SupabaseFileStore(storage.url, "service-key")
        assert storage.requests[0].method == "GET"
"""

from __future__ import annotations

import email.parser
import email.policy
import json
import threading
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import unquote, urlsplit

PREFIX = "/storage/v1/object/"


@dataclass(frozen=True, slots=True)
class StoredObject:
    content: bytes
    content_type: str = "application/octet-stream"


@dataclass(frozen=True, slots=True)
class SeenRequest:
    method: str
    path: str
    headers: dict[str, str]


class _Reply(Exception):
    """An error answer in Storage's body."""

    def __init__(self, http_status: int, status_code: str, error: str, message: str) -> None:
        super().__init__(message)
        self.http_status = http_status
        self.body = {"statusCode": status_code, "error": error, "message": message}


class StorageServer:
    """A threaded HTTP server on a free loopback port serving one Storage project."""

    def __init__(
        self,
        *,
        key: str = "service-role-key",
        buckets: tuple[str, ...] = ("materials",),
        missing_status: int = 400,
    ) -> None:
        self.key = key
        self.buckets = set(buckets)
        self.missing_status = missing_status
        self.objects: dict[tuple[str, str], StoredObject] = {}
        self.requests: list[SeenRequest] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return None

            def _body(self) -> bytes:
                length = int(self.headers.get("content-length") or 0)
                return self.rfile.read(length) if length else b""

            def _send(self, status: int, body: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("content-type", content_type)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _handle(self, method: str) -> None:
                body = self._body()
                path = urlsplit(self.path).path
                with server._lock:
                    server.requests.append(
                        SeenRequest(method, path, {k.lower(): v for k, v in self.headers.items()})
                    )
                try:
                    status, payload, content_type = server._route(method, path, self.headers, body)
                except _Reply as reply:
                    status, content_type = reply.http_status, "application/json"
                    payload = json.dumps(reply.body).encode()
                self._send(status, payload, content_type)

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                self._handle("GET")

            def do_POST(self) -> None:  # noqa: N802
                self._handle("POST")

            def do_DELETE(self) -> None:  # noqa: N802
                self._handle("DELETE")

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        """The project URL a client is given (`SUPABASE_URL`)."""
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> StorageServer:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    # --- the API ------------------------------------------------------------------------------

    def _authorise(self, headers: Any) -> None:
        authorization = headers.get("authorization")
        apikey = headers.get("apikey")
        if authorization is None:
            raise _Reply(400, "403", "Unauthorized", "headers must have property authorization")
        if authorization != f"Bearer {self.key}" or apikey != self.key:
            raise _Reply(400, "403", "Unauthorized", "invalid signature")

    def _bucket_and_key(self, rest: str) -> tuple[str, str]:
        bucket, _, key = rest.partition("/")
        bucket = unquote(bucket)
        if bucket not in self.buckets:
            raise _Reply(400, "404", "Bucket not found", "Bucket not found")
        return bucket, "/".join(unquote(part) for part in key.split("/"))

    def _missing(self) -> _Reply:
        return _Reply(self.missing_status, "404", "not_found", "Object not found")

    def _route(self, method: str, path: str, headers: Any, body: bytes) -> tuple[int, bytes, str]:
        if not path.startswith(PREFIX):
            raise _Reply(404, "404", "Not Found", f"Route {method}:{path} not found")
        self._authorise(headers)
        rest = path[len(PREFIX) :]
        if method == "GET" and rest.startswith("info/"):
            bucket, key = self._bucket_and_key(rest[len("info/") :])
            found = self.objects.get((bucket, key))
            if found is None:
                raise self._missing()
            info = {
                "name": key,
                "bucket_id": bucket,
                "size": len(found.content),
                "content_type": found.content_type,
            }
            return 200, json.dumps(info).encode(), "application/json"
        if method == "GET":
            bucket, key = self._bucket_and_key(rest)
            found = self.objects.get((bucket, key))
            if found is None:
                raise self._missing()
            return 200, found.content, found.content_type
        if method == "POST":
            bucket, key = self._bucket_and_key(rest)
            content, content_type = _multipart_file(headers.get("content-type", ""), body)
            with self._lock:
                if (bucket, key) in self.objects and headers.get("x-upsert") != "true":
                    raise _Reply(400, "409", "Duplicate", "The resource already exists")
                self.objects[(bucket, key)] = StoredObject(content, content_type)
            reply = {"Key": f"{bucket}/{key}", "Id": str(uuid.uuid4())}
            return 200, json.dumps(reply).encode(), "application/json"
        if method == "DELETE" and "/" not in rest:
            bucket, _ = self._bucket_and_key(rest)
            prefixes = json.loads(body or b"{}").get("prefixes")
            if not isinstance(prefixes, list) or not prefixes:
                raise _Reply(400, "400", "Bad Request", "body must have property prefixes")
            removed = []
            with self._lock:
                for key in prefixes:
                    if self.objects.pop((bucket, str(key)), None) is not None:
                        removed.append({"name": key, "bucket_id": bucket})
            return 200, json.dumps(removed).encode(), "application/json"
        raise _Reply(404, "404", "Not Found", f"Route {method}:{path} not found")


def _multipart_file(content_type: str, body: bytes) -> tuple[bytes, str]:
    """The `file` part of a multipart/form-data upload: its bytes and content type."""
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"content-type: " + content_type.encode() + b"\r\n\r\n" + body
    )
    if message.is_multipart():
        for part in message.iter_parts():
            if part.get_param("name", header="content-disposition") == "file":
                payload = part.get_payload(decode=True)
                return bytes(payload or b""), part.get_content_type()
    raise _Reply(400, "400", "Bad Request", "the upload has no file part")
