"""`/v1/materials/*`: upload a material, queue it for processing, and run the worker.

- `create` (stemgraph addition): a teacher uploads a file or text; the file goes to the file
  store (Supabase Storage or the data dir) at the platform's path for the class, the row is
  stored `pending` and, unless `"process": false`, a processing job is queued. If the row
  cannot be saved the file is removed again.
- `dispatch`: a teacher (re)queues a material whose file is in the file store (409
  `material_not_processable` when it is not); `enqueued` is true only when a new job was
  queued (an in-flight job is reused). `trigger_worker` starts a worker batch in the
  background of this process.
- `process`: a worker batch, run inline. Auth is the service key as everywhere, or the
  `x-material-worker-token` header alone (a cron worker may hold only that): when the header is
  sent it must equal `MATERIAL_WORKER_TOKEN` (else 401, whatever else is sent) and replaces the
  service-key check; without the header the normal service-key check applies.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import logging
import os
import socket
import uuid
from uuid import UUID

from pydantic import Field
from starlette.requests import Request
from starlette.responses import Response

from graphs.materials import IngestContext
from server import background
from server.access import class_member, material_in_class, require_teacher
from server.envelope import ok_response
from server.errors import ApiError
from server.routes.common import admit, read_json
from server.runs import run_to_completion, start_run
from server.schemas import Body, ClassScoped, parse_body
from server.state import AppState, app_state
from tools.files import FileStoreError, material_file_path, upload_path
from tools.materials import MAX_BYTES, BatchResult, MaterialUnreadable, detect_type, process_batch
from tools.models.providers import resolve_order
from tools.store.base import MaterialRecord

logger = logging.getLogger("stemgraph.materials")

WORKER_TOKEN_HEADER = "x-material-worker-token"
# Base64 of the largest file the extractor accepts (the request body limit usually bites first).
_MAX_BASE64 = (MAX_BYTES + 2) // 3 * 4
# The background machinery's earlier names here, for existing callers.
_background = background.TASKS
drain_background = background.drain


class MaterialCreateBody(ClassScoped):
    title: str = Field(min_length=1, max_length=200)
    file_name: str | None = Field(None, max_length=255)
    mime_type: str | None = Field(None, max_length=255)
    content_base64: str | None = Field(None, max_length=_MAX_BASE64)
    text: str | None = Field(None, max_length=MAX_BYTES)
    process: bool = True


class DispatchBody(Body):
    class_id: UUID
    material_id: UUID
    trigger_worker: bool = True
    user_id: UUID | None = None
    sandbox_id: UUID | None = None


class ProcessBody(Body):
    batch_size: int | None = Field(None, ge=1, le=25)


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _content(body: MaterialCreateBody) -> tuple[bytes, str | None]:
    """The uploaded bytes and MIME type: exactly one of `content_base64` and `text`."""
    if (body.content_base64 is None) == (body.text is None):
        raise ApiError(422, "validation_error", "content_base64: send either the file or text.")
    if body.text is not None:
        return body.text.encode("utf-8"), body.mime_type or "text/plain"
    try:
        content = base64.b64decode(body.content_base64 or "", validate=True)
    except (binascii.Error, ValueError):
        raise ApiError(422, "validation_error", "content_base64: not valid base64.") from None
    return content, body.mime_type


async def create(request: Request) -> Response:
    state, body, principal = await admit(request, MaterialCreateBody, require_user=True)
    member = await class_member(state.store, principal, str(body.class_id), body.sandbox_id)
    require_teacher(member)
    content, mime_type = _content(body)
    if not content.strip():
        raise ApiError(422, "validation_error", "content: the file is empty.")
    if len(content) > MAX_BYTES:
        raise ApiError(413, "payload_too_large", "The file is larger than 20 MB.")
    try:
        source_type = detect_type(content, mime_type=mime_type, file_name=body.file_name)
    except MaterialUnreadable as error:
        raise ApiError(415, "unsupported_material_type", str(error)) from None
    material_id = str(uuid.uuid4())
    path = upload_path(member.klass, material_id, body.file_name)
    try:
        await state.files.put(path, content, content_type=mime_type)
    except FileStoreError:
        logger.exception("material file upload failed")
        raise ApiError(
            502, "material_create_error", "The file could not be stored. Try again shortly."
        ) from None
    try:
        await state.store.create_material(
            material_id=material_id,
            class_id=member.klass.id,
            title=body.title.strip() or "Untitled material",
            source_type=source_type,
            mime_type=mime_type,
            file_name=body.file_name,
            # The bytes live in the file store; the row records where.
            storage_path=path,
            size_bytes=len(content),
            created_by=member.user_id,
        )
    except Exception:
        logger.exception("material upload failed")
        await _remove_quietly(state, path)
        raise ApiError(
            502, "material_create_error", "The material could not be saved. Try again shortly."
        ) from None
    job_id = None
    if body.process:
        try:
            job, _ = await state.store.enqueue_material_job(material_id, member.klass.id)
        except Exception:
            # The row and its file stay: `dispatch` can queue the material later.
            logger.exception("material enqueue failed")
            raise ApiError(
                502, "material_create_error", "The material could not be queued. Try again shortly."
            ) from None
        job_id = job.id
    return ok_response(
        request,
        {"material_id": material_id, "status": "pending", "job_id": job_id, "storage_path": path},
    )


async def _remove_quietly(state: AppState, path: str) -> None:
    """Undo an upload whose row was not saved (an orphan file is only wasted space)."""
    try:
        await state.files.delete(path)
    except FileStoreError:
        logger.warning("could not remove an orphaned material file", extra={"path": path})


async def _has_file(state: AppState, material: MaterialRecord) -> bool:
    try:
        return await state.files.exists(await material_file_path(state.store, material))
    except FileStoreError:
        logger.exception("material file check failed")
        raise ApiError(
            502, "dispatch_error", "The material's file could not be checked. Try again shortly."
        ) from None


async def dispatch(request: Request) -> Response:
    state, body, principal = await admit(request, DispatchBody, require_user=True)
    member = await class_member(state.store, principal, str(body.class_id), body.sandbox_id)
    require_teacher(member)
    material = await material_in_class(state.store, member.klass.id, str(body.material_id))
    if not await _has_file(state, material):
        raise ApiError(
            409, "material_not_processable", "This material has no uploaded file to process."
        )
    try:
        job, enqueued = await state.store.enqueue_material_job(material.id, member.klass.id)
    except Exception:
        logger.exception("material dispatch failed")
        raise ApiError(
            502, "dispatch_error", "The material could not be queued. Try again shortly."
        ) from None
    triggered = False
    if body.trigger_worker:
        start_background_batch(state)
        triggered = True
    return ok_response(request, {"enqueued": enqueued, "triggered": triggered, "job_id": job.id})


def _worker_token_sent(request: Request, state: AppState) -> bool:
    """True when a valid worker token was sent; 401 when one was sent but is wrong."""
    sent = request.headers.get(WORKER_TOKEN_HEADER)
    if sent is None:
        return False
    expected = state.settings.material_worker_token
    if expected is None or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise ApiError(401, "unauthorized", "The material worker token is not valid.")
    return True


async def process(request: Request) -> Response:
    state = app_state(request)
    if _worker_token_sent(request, state):
        body = parse_body(ProcessBody, await read_json(request))
    else:
        state, body, _ = await admit(request, ProcessBody)
    try:
        result = await run_batch(state, batch_size=body.batch_size)
    except Exception:
        logger.exception("material processing failed")
        raise ApiError(
            502, "material_process_error", "Materials could not be processed. Try again shortly."
        ) from None
    return ok_response(request, result.as_wire())


async def run_batch(state: AppState, *, batch_size: int | None = None) -> BatchResult:
    """One worker batch over this app's store and embedding providers."""
    context = IngestContext(
        store=state.store,
        files=state.files,
        embedding_providers=state.embedding_providers(resolve_order(state.settings)),
        timeout_ms=state.settings.ai_embedding_timeout_ms,
        extraction=state.settings.extraction_limits,
    )

    async def ingest(material_id: str) -> object:
        # Failures propagate as raised: the worker retries or fails the job on them.
        run = start_run(
            state.graphs,
            "materials",
            input={"material_id": material_id},
            context=context,
            error_code="material_process_error",
        )
        return await run_to_completion(run)

    return await process_batch(
        state.store,
        ingest,
        batch_size=batch_size or state.settings.material_worker_batch,
        worker_id=worker_id(),
    )


async def _background_batch(state: AppState) -> None:
    try:
        result = await run_batch(state)
    except Exception:
        logger.exception("background material processing failed")
        return
    logger.info("background material batch", extra=result.as_wire())


def start_background_batch(state: AppState) -> asyncio.Task[None]:
    """Start a worker batch without waiting for it (its errors are logged, never raised)."""
    return background.spawn(_background_batch(state), name="materials-batch")
