"""The protocol's engine, one per app (opened by the lifespan): threads, runs and their
execution on the app's store, checkpointer and graphs.

A run is a row (`records.py`) executed by `execute(run_id)`, which the run queue calls (in this
process by default, `manager.py`). It waits its turn on the thread (one running run per
thread, older pending runs first), streams the graph, publishes every event to the event log
and records how it ended on the run and the thread.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from langchain_core.messages import BaseMessageChunk
from langchain_core.runnables import RunnableConfig
from langgraph.types import Command, Durability, StreamMode
from pydantic import BaseModel
from starlette.requests import HTTPConnection, Request

from graphs.materials.context import IngestContext
from graphs.shared.errors import GenerationError
from graphs.teaching_brief.context import BriefContext
from server.access import (
    ThreadAccess,
    protocol_class_input,
    protocol_runner,
    protocol_steering,
    require_thread_owner,
    session_thread_access,
    thread_owner_access,
)
from server.auth.principal import Principal, authenticate
from server.checkpoints import delete_checkpoints_after, prune_thread
from server.errors import ApiError
from server.json_input import parse_json
from server.protocol.durable import DurableRunManager, resume_or_fail
from server.protocol.models import RunCreate, StreamModeName
from server.protocol.records import Records, RunRecord, RunStatus, ThreadRecord, ThreadStatus
from server.protocol.validation import check_no_session, check_run
from server.protocol.wire import MessageEncoder, dumps, dumps_message, interrupt_json, jsonable
from server.registry import EXPORTED, CompiledGraph
from server.schemas import parse_body
from server.state import AppState, app_state
from server.streaming import UnencodableOutput
from tools.materials.extract import MaterialUnreadable
from tools.models.providers import resolve_order
from tools.store.base import ChatSession

logger = logging.getLogger("stemgraph.protocol")
Model = TypeVar("Model", bound=BaseModel)

# Graphs a user runs only as a teacher of the class their input names.
TEACHER_GRAPHS = frozenset({"insights", "teaching_brief", "data_query", "materials"})
SESSION_KIND = "workspace_session"
# What a graph's stream mode is called in LangGraph (the SDKs' `messages-tuple` is LangGraph's
# `messages`; the SDKs' `messages` is the same stream, accumulated per message id).
_GRAPH_MODES: Mapping[str, StreamMode] = {
    "values": "values",
    "updates": "updates",
    "messages": "messages",
    "messages-tuple": "messages",
    "custom": "custom",
    "debug": "debug",
    "tasks": "tasks",
    "checkpoints": "checkpoints",
}
CancelAction = Literal["interrupt", "rollback"]


async def read_body(request: Request, model: type[Model]) -> Model:
    raw = await request.body()
    return parse_body(model, parse_json(raw) if raw.strip() else {})


def valid_uuid(value: str, *, code: str, what: str) -> str:
    """`value` as a canonical UUID; 404 `code` otherwise (a malformed id names nothing)."""
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise ApiError(404, code, f"That {what} does not exist.") from None


@dataclass(frozen=True, slots=True)
class ThreadView:
    """A thread the caller reached, with what they may do on it."""

    record: ThreadRecord
    access: ThreadAccess
    session: ChatSession | None = None


def _start_checkpoint(body: RunCreate) -> str | None:
    """The checkpoint a run starts from, as `_prepare` will use it: `checkpoint_id` (or
    `checkpoint`), else `config.configurable.checkpoint_id`; 422 for one that is not an id."""
    named = body.checkpoint_id or (body.checkpoint and body.checkpoint.checkpoint_id)
    if named:
        return str(named)
    configurable = (body.config.configurable if body.config else None) or {}
    found = configurable.get("checkpoint_id")
    if found is None or found == "":
        return None
    if not isinstance(found, str) or len(found) > 100:
        raise ApiError(
            422, "validation_error", "config.configurable.checkpoint_id: a checkpoint id."
        )
    return found


class Protocol:
    """Threads, runs and their execution for one app."""

    def __init__(self, state: AppState) -> None:
        self.state = state
        self.records = Records(state.store)
        # Runs and their events in the database (or Redis), shared by every server process.
        self.manager = DurableRunManager(
            self.execute,
            state.settings,
            state.store,
            on_swept=lambda swept: resume_or_fail(self, swept),
        )
        saver = state.checkpointer
        self.graphs: dict[str, CompiledGraph] = {
            name: graph.copy(update={"checkpointer": saver}) for name, graph in EXPORTED.items()
        }

    async def start(self) -> None:
        await self.manager.start()

    async def aclose(self) -> None:
        await self.manager.aclose()

    # --- callers and threads --------------------------------------------------------------

    async def caller(self, conn: HTTPConnection, *, guests: bool = False) -> Principal:
        """The authenticated caller; a guest only where `guests` (reading the assistants):
        guests use the `/v1` routes, never threads or runs (403 `forbidden_account_type`)."""
        principal = await authenticate(conn, self.state.settings, self.state.verifier)
        if not guests:
            protocol_runner(principal)
        return principal

    async def thread(self, principal: Principal, thread_id: str) -> ThreadView:
        """The thread the caller may see (404 `thread_not_found` otherwise): a protocol thread,
        or a workspace chat session reached as one."""
        thread_id = valid_uuid(thread_id, code="thread_not_found", what="thread")
        record = await self.records.get_thread(thread_id)
        if record is not None and record.metadata.get("kind") != SESSION_KIND:
            return ThreadView(record, thread_owner_access(principal, record.owner_user_id))
        session = await self.state.store.get_session(thread_id)
        if session is None:
            raise ApiError(404, "thread_not_found", "That thread does not exist.")
        access = await session_thread_access(self.state.store, principal, session)
        if record is None:
            await self.records.create_thread(
                thread_id,
                owner_user_id=session.owner_user_id,
                graph_id="chat",
                metadata={
                    "kind": SESSION_KIND,
                    "class_id": session.class_id,
                    "owner_user_id": session.owner_user_id,
                    "title": session.title,
                },
            )
            record = await self.records.get_thread(thread_id)
            assert record is not None
        return ThreadView(record, access, session)

    async def unused_id(self, thread_id: str) -> bool:
        """Whether a new protocol thread may take `thread_id`: no workspace session uses it and
        the checkpointer holds nothing under it (a `/v1` blueprint draft's or a session's
        checkpoints): a caller naming such an id must not become its thread's owner."""
        if await self.state.store.get_session(thread_id) is not None:
            return False
        found = await self.state.checkpointer.aget_tuple(
            {"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}}
        )
        return found is None

    async def owned_thread(self, principal: Principal, thread_id: str) -> ThreadView:
        view = await self.thread(principal, thread_id)
        require_thread_owner(view.access)
        return view

    def graph_of(self, view: ThreadView, fallback: str = "chat") -> CompiledGraph:
        return self.graphs[view.record.graph_id or fallback]

    # --- creating runs --------------------------------------------------------------------

    async def create_run(
        self,
        principal: Principal,
        view: ThreadView,
        graph_id: str,
        body: RunCreate,
        *,
        assistant_id: str,
        temporary: bool = False,
    ) -> RunRecord:
        """Check the run, apply the multitask strategy, record it `pending` and queue it."""
        protocol_runner(principal)
        if view.record.graph_id not in (None, graph_id):
            raise ApiError(
                409,
                "thread_graph_mismatch",
                f"This thread runs the {view.record.graph_id} graph, not {graph_id}.",
            )
        if body.input is not None and body.command is not None:
            raise ApiError(422, "validation_error", "Send either input or command, not both.")
        graph = self.graphs[graph_id]
        for field in ("interrupt_before", "interrupt_after"):
            nodes = getattr(body, field)
            if isinstance(nodes, list) and (unknown := set(nodes) - set(graph.nodes)):
                raise ApiError(
                    422, "validation_error", f"{field}: no node named {sorted(unknown)[0]!r}."
                )
        if body.command is not None and body.command.goto:
            protocol_steering(principal, "command.goto")
        start = _start_checkpoint(body)
        if temporary and start:
            raise ApiError(
                422, "validation_error", "checkpoint_id: a stateless run's thread has none."
            )
        first_run = temporary or await self._first_run(view.record.thread_id, start)
        check_run(graph_id, body, first_run=first_run, session=view.session is not None)
        if view.session is not None:
            await self._check_session_run(view.session, body)
        else:
            await self._check_classes(principal, view, graph_id, body, start)
        # A stateless run's thread was made for it a moment ago: nothing else runs there.
        active = [] if temporary else await self.records.active_runs(view.record.thread_id)
        if active and body.multitask_strategy == "reject":
            raise ApiError(
                409,
                "thread_busy",
                "The thread is running a run; wait for it or choose another multitask_strategy.",
            )
        if active and body.multitask_strategy in ("interrupt", "rollback"):
            for other in active:
                await self.cancel(other, body.multitask_strategy)
        if view.record.graph_id is None:
            await self.records.update_thread(view.record.thread_id, graph_id=graph_id)
        run = await self.records.create_run(
            RunRecord(
                run_id=str(uuid.uuid4()),
                thread_id=view.record.thread_id,
                assistant_id=assistant_id,
                graph_id=graph_id,
                owner_user_id=principal.user.user_id if principal.user else None,
                metadata=body.metadata or {},
                kwargs=body.model_dump(mode="json", exclude_none=True)
                | {"stream_mode": body.modes(), "_temporary": temporary}
                # Known now, so the run's start reads and writes neither: whether the thread
                # is a workspace session, and (a stateless run's new thread has no checkpoint)
                # where a rollback puts it back to.
                | {"_session": view.session is not None}
                | ({"_checkpoint_before": ""} if temporary else {}),
                multitask_strategy=body.multitask_strategy,
            )
        )
        await self.manager.enqueue(run.run_id, run.thread_id)
        return run

    async def _first_run(self, thread_id: str, checkpoint_id: str | None) -> bool:
        """Whether the thread has no checkpoint yet; 422 when the run names a checkpoint the
        thread does not have."""
        configurable = {"thread_id": thread_id, "checkpoint_ns": ""}
        if checkpoint_id:
            found = await self.state.checkpointer.aget_tuple(
                {"configurable": {**configurable, "checkpoint_id": checkpoint_id}}
            )
            if found is None:
                raise ApiError(
                    422, "validation_error", "checkpoint_id: no such checkpoint on this thread."
                )
            return False
        return await self.state.checkpointer.aget_tuple({"configurable": configurable}) is None

    async def _check_classes(
        self,
        principal: Principal,
        view: ThreadView,
        graph_id: str,
        body: RunCreate,
        start: str | None,
    ) -> None:
        """The class rule for every class the run would use: its input's, its command's
        update's and the thread's state's (a state update cannot smuggle a class in); teacher
        graphs, and blueprint approval drafts, need the class's teacher. None of them may name
        a workspace session."""
        named: list[tuple[str, Mapping[str, Any]]] = [("input", body.input or {})]
        if body.command is not None and body.command.update is not None:
            update = body.command.update
            pairs = update.items() if isinstance(update, dict) else update
            try:
                named.append(("command.update", dict(pairs)))
            except (TypeError, ValueError):
                raise ApiError(
                    422, "validation_error", "command.update: an object or [key, value] pairs."
                ) from None
        if view.record.graph_id is not None:
            # The state the run starts from: a fork from an older checkpoint is checked there.
            configurable = {"thread_id": view.record.thread_id}
            if start:
                configurable["checkpoint_id"] = start
            snapshot = await self.graphs[view.record.graph_id].aget_state(
                {"configurable": configurable}
            )
            if isinstance(snapshot.values, Mapping):
                named.append(("state", snapshot.values))
        # Not a session's thread (those take `_check_session_run`): no session named anywhere.
        for where, source in named:
            check_no_session(where, source)
        sources = [source for _, source in named]
        approval = any(bool(source.get("require_approval")) for source in sources)
        teacher = graph_id in TEACHER_GRAPHS or (graph_id == "blueprint" and approval)
        classes = {source.get("class_id") for source in sources} - {None}
        if graph_id == "materials":
            # Its input names a material, not a class: the material's class is checked.
            for material_id in {source.get("material_id") for source in sources} - {None}:
                try:
                    material_uuid = str(uuid.UUID(str(material_id)))
                except ValueError:
                    raise ApiError(
                        422, "validation_error", "material_id: expected a material id (a UUID)."
                    ) from None
                material = await self.state.store.get_material(material_uuid)
                if material is None:
                    raise ApiError(404, "material_not_found", "That material does not exist.")
                classes.add(material.class_id)
        for class_id in classes:
            await protocol_class_input(self.state.store, principal, class_id, teacher=teacher)

    async def _check_session_run(self, session: ChatSession, body: RunCreate) -> None:
        if session.archived_at is not None:
            raise ApiError(409, "session_archived", "This chat is archived; start a new one.")
        if body.command is not None or body.input is None:
            raise ApiError(422, "validation_error", "input.user_message: the message to send.")
        if extra := sorted(set(body.input) - {"user_message"}):
            # The rest of the input is the session's own (`_session_input`), never the caller's.
            raise ApiError(
                422,
                "validation_error",
                f"input.{extra[0][:80]}: a workspace chat's run takes only user_message.",
            )
        message = body.input.get("user_message")
        if not isinstance(message, str) or not 1 <= len(message.strip()) <= 1_200:
            raise ApiError(
                422, "validation_error", "input.user_message: 1 to 1200 characters of text."
            )
        if body.multitask_strategy == "reject":
            # A `/v1` send in flight holds the session's lease: refuse now, as that route does
            # (the run takes the lease itself when it starts).
            probe = await self.state.store.acquire_session(session.id, hold_seconds=1)
            if probe is None:
                raise ApiError(
                    409,
                    "session_busy",
                    "The tutor is still answering your last message in this chat.",
                )
            await self.state.store.release_session(session.id, probe)

    # --- cancelling -----------------------------------------------------------------------

    async def cancel(self, run: RunRecord, action: CancelAction) -> None:
        """Stop a pending or running run. `interrupt` keeps what it wrote (status
        `interrupted`); `rollback` also deletes the run and puts the thread back as it was."""
        if not await self.manager.cancel(run.run_id):
            # Not running in this process (or not started): mark it so it never starts.
            await self.records.set_run_status(run.run_id, "interrupted", only_from=("pending",))
        await self.manager.wait_started(run.run_id)
        if action == "rollback":
            await self._rollback(run)

    async def _rollback(self, run: RunRecord) -> None:
        current = await self.records.get_run(run.run_id)
        # Absent: the run never started, so it wrote nothing; "": it was the thread's first.
        before = (current or run).kwargs.get("_checkpoint_before")
        if before == "":
            await self.state.checkpointer.adelete_thread(run.thread_id)
        elif isinstance(before, str):
            await delete_checkpoints_after(self.state.checkpointer, run.thread_id, before)
        await self.records.delete_run(run.run_id)
        await self.settle(run.thread_id, self.graphs[run.graph_id])

    # --- executing runs -------------------------------------------------------------------

    async def execute(self, run_id: str) -> None:
        """Run `run_id` to its end (the queue's executor). Never raises."""
        try:
            await self._execute(run_id)
        except asyncio.CancelledError:
            pass
        except Exception:  # noqa: BLE001 - a run's failure is recorded, never raised
            logger.exception("protocol run failed outside the graph", extra={"run_id": run_id})

    async def _execute(self, run_id: str) -> None:
        run = await self.records.get_run(run_id)
        if run is None:
            await self.manager.close(run_id)
            return
        try:
            session = await self._session_of(run)
            try:
                turn = await self._wait_turn(run, session)
            except ApiError as error:  # a `/v1` send holds the session: the run cannot start
                await self.manager.publish(run_id, "metadata", dumps({"run_id": run_id}))
                await self.manager.publish(run_id, "error", dumps(self._error(run, error)))
                await self.records.set_run_status(run_id, "error", only_from=("pending",))
                return
            if turn is None:
                return
            await self.manager.publish(run_id, "metadata", dumps({"run_id": run_id, "attempt": 1}))
            try:
                # Records how it ended, on the run and the thread.
                await self._run_graph(run, session, lease=turn)
            except Exception as error:  # noqa: BLE001 - e.g. a session lease taken meanwhile
                await self.manager.publish(run_id, "error", dumps(self._error(run, error)))
                await self.settle(
                    run.thread_id, self.graphs[run.graph_id], failed=True, run=(run_id, "error")
                )
        except asyncio.CancelledError:
            leaving = self.manager.leaving(run_id)
            if leaving == "handed back":
                # The process is shutting down: another one resumes the run.
                await asyncio.shield(self.requeue(run_id))
            elif leaving is None:
                # The caller's cancel: record it, then let it propagate.
                await asyncio.shield(self._stopped(run))
            raise
        finally:
            await asyncio.shield(self.manager.close(run_id))
            if self._dropped_after(run) and not self.manager.leaving(run_id):
                await asyncio.shield(self._drop_thread(run.thread_id))

    async def requeue(self, run_id: str) -> None:
        """A running run back to `pending`, to be resumed from the thread's last checkpoint
        with no input and no command (those were its first start's) once it has
        checkpointed anything of its own; a run that had not (stopped before its first
        checkpoint landed, or run with `durability="exit"`) keeps them and starts again."""
        record = await self.records.get_run(run_id)
        if record is None or record.status != "running":
            return
        if await self._checkpointed_since_start(record):
            kwargs = {**record.kwargs, "input": None, "command": None}
            await self.records.set_run_kwargs(run_id, kwargs)
        await self.records.set_run_status(run_id, "pending", only_from=("running",))

    async def _checkpointed_since_start(self, run: RunRecord) -> bool:
        """Whether the thread's latest checkpoint is no longer the one the run started from
        (`_checkpoint_before`, "" for none; absent: the run never got as far as reading it)."""
        before = run.kwargs.get("_checkpoint_before")
        if before is None:
            return False
        latest = await self.state.checkpointer.aget_tuple(
            {"configurable": {"thread_id": run.thread_id, "checkpoint_ns": ""}}
        )
        latest_id = "" if latest is None else latest.config["configurable"]["checkpoint_id"]
        return bool(latest_id != before)

    async def _drop_thread(self, thread_id: str) -> None:
        """A stateless run's thread, once the run is over (`on_completion=delete`)."""
        await self.state.checkpointer.adelete_thread(thread_id)
        await self.records.delete_thread(thread_id)

    async def _stopped(self, run: RunRecord) -> None:
        await self.records.set_run_status(
            run.run_id, "interrupted", only_from=("pending", "running")
        )
        await self.settle(run.thread_id, self.graphs[run.graph_id])

    async def _wait_turn(self, run: RunRecord, session: ChatSession | None) -> str | None:
        """Start the run once the thread is free (older pending runs first). On a workspace
        session the run takes the session's lease before it is marked `running`, so a `/v1`
        send made once the run shows `running` is refused, never let in ahead of it; that lease
        is returned. None when the run was cancelled or deleted while it waited (`""`: started,
        no session). Raises `session_busy` when a `/v1` send holds the session."""
        delay = 0.01
        if run.kwargs.get("after_seconds"):
            await asyncio.sleep(float(run.kwargs["after_seconds"]))
        while True:
            lease = "" if session is None else await self._take_session(run, session)
            if lease is not None:
                started = False
                try:
                    started = await self.records.start_run(run.run_id, run.thread_id)
                finally:
                    if lease and not started and session is not None:
                        # Not started (or cancelled meanwhile): the lease is not the run's.
                        await asyncio.shield(self.state.store.release_session(session.id, lease))
                if started:
                    return lease
            current = await self.records.get_run(run.run_id)
            if current is None or current.status != "pending":
                return None
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.25)

    async def _take_session(self, run: RunRecord, session: ChatSession) -> str | None:
        """The session's lease for `run`; None while a run ahead of it on the thread (running,
        or older and pending) goes first, so only the head of the line ever takes it;
        `session_busy` when a `/v1` send holds it."""
        for other in await self.records.active_runs(run.thread_id):  # oldest first
            if other.run_id == run.run_id:
                continue
            if other.status == "running" or (other.created_at, other.run_id) < (
                run.created_at,
                run.run_id,
            ):
                return None
        lease = await self.state.store.acquire_session(
            session.id, hold_seconds=self.state.settings.session_lease_seconds
        )
        if lease is None:
            raise ApiError(
                409, "session_busy", "The tutor is still answering your last message in this chat."
            )
        return lease

    def _context(self, graph_id: str, requested: Mapping[str, Any] | None) -> Any:
        """The run's context: the server's objects, with the data fields the run asked for
        (`context`, checked against the graph's context schema when the run was created)."""
        state = self.state
        options = dict(requested or {})
        order = options.get("provider_order") or None
        if graph_id == "materials":
            return IngestContext(
                store=state.store,
                files=state.files,
                embedding_providers=list(
                    state.embedding_providers(resolve_order(state.settings, order))
                ),
                timeout_ms=options.get("timeout_ms"),
            )
        context = state.generation_context(options.get("timeout_ms"), provider_order=order)
        if graph_id == "teaching_brief":
            return BriefContext(
                router=context.router,
                store=context.store,
                embedding_providers=context.embedding_providers,
                timeout_ms=context.timeout_ms,
                provider_order=context.provider_order,
                deadline=context.deadline,
            )
        return context

    async def _run_graph(
        self, run: RunRecord, session: ChatSession | None, *, lease: str
    ) -> Literal["success", "error", "interrupted"]:
        """Run the started run's graph and record how it ended; `lease`: the session's, held
        since the run started when it runs on one, released however it ends."""
        graph = self.graphs[run.graph_id]
        modes: list[StreamModeName] = list(run.kwargs.get("stream_mode") or ["values"])
        try:
            config, graph_input, durability = await self._prepare(run, graph)
            if session is not None:
                if graph_input is not None:
                    # None: resumed after its checkpoint, which already holds the turn.
                    graph_input = await self._session_input(session, graph_input, run.run_id)
                durability = "exit"
            outcome = await self._stream(
                run,
                graph,
                graph_input,
                config,
                modes,
                durability=durability,
                lease=(session, lease) if session is not None and lease else None,
            )
        finally:
            if session is not None:
                await asyncio.shield(self._end_session_run(session.id, lease or None))
        if self._dropped_after(run):
            await self.records.set_run_status(run.run_id, outcome)
        else:
            failed = outcome == "error"
            await self.settle(run.thread_id, graph, failed=failed, run=(run.run_id, outcome))
        return outcome

    async def _prepare(
        self, run: RunRecord, graph: CompiledGraph
    ) -> tuple[RunnableConfig, Any, Durability]:
        """The run's config, graph input and durability; records its rollback point."""
        kwargs = run.kwargs
        thread_id = run.thread_id
        configurable: dict[str, Any] = {
            key: value
            for key, value in ((kwargs.get("config") or {}).get("configurable") or {}).items()
            if isinstance(key, str) and not key.startswith("__") and key != "checkpoint_ns"
        }
        configurable["thread_id"] = thread_id
        checkpoint_id = kwargs.get("checkpoint_id") or (kwargs.get("checkpoint") or {}).get(
            "checkpoint_id"
        )
        if checkpoint_id:
            configurable["checkpoint_id"] = str(checkpoint_id)
        config: RunnableConfig = {"configurable": configurable, "run_id": uuid.UUID(run.run_id)}
        if limit := (kwargs.get("config") or {}).get("recursion_limit"):
            config["recursion_limit"] = int(limit)
        if "_checkpoint_before" not in kwargs:
            # Where a rollback puts the thread back to ("" when the thread had no checkpoint):
            # recorded at the first start only, so a resumed run (its process died, or it was
            # handed back) still rolls back to before it ever ran.
            before = await graph.aget_state({"configurable": {"thread_id": thread_id}})
            checkpoint = (before.config or {}).get("configurable", {}).get("checkpoint_id")
            await self.records.set_run_kwargs(
                run.run_id,
                {**kwargs, "_checkpoint_before": checkpoint if before.created_at else ""},
            )
        graph_input: Any = kwargs.get("input")
        if (command := kwargs.get("command")) is not None:
            graph_input = Command(
                resume=command.get("resume"),
                update=command.get("update"),
                goto=command.get("goto") or (),
            )
        # A run whose thread is dropped when it ends (a stateless run's, by default) has nobody
        # to read its steps' checkpoints: unless it asks, it writes one, at its end. Should its
        # process die, it starts again from its input (`requeue`).
        durability: Durability = kwargs.get("durability") or (
            "exit" if self._dropped_after(run) else "async"
        )
        return config, graph_input, durability

    @staticmethod
    def _dropped_after(run: RunRecord) -> bool:
        """Whether the run's thread is deleted when it ends (a stateless run's, unless
        `on_completion=keep`): its status and values are not recorded first."""
        return bool(run.kwargs.get("_temporary")) and run.kwargs.get("on_completion") != "keep"

    async def _session_of(self, run: RunRecord) -> ChatSession | None:
        if run.kwargs.get("_session") is False:
            return None
        thread = await self.records.get_thread(run.thread_id)
        if thread is None or thread.metadata.get("kind") != SESSION_KIND:
            return None
        return await self.state.store.get_session(run.thread_id)

    async def _session_input(self, session: ChatSession, raw: Any, run_id: str) -> dict[str, Any]:
        """The v1 send's graph input for a run on a workspace session; the run's id is the
        turn's key, so a run started again after it saved its turn stores it once."""
        klass = await self.state.store.get_class(session.class_id)
        role = await self.state.store.class_role(session.class_id, session.owner_user_id)
        return {
            "class_id": session.class_id,
            "class_title": klass.title if klass else "",
            "user_message": str((raw or {}).get("user_message", "")),
            "session_id": session.id,
            "author_user_id": session.owner_user_id,
            "author_kind": "teacher" if role == "teacher" else "student",
            "max_tokens": None,
            "turn_id": run_id,
        }

    async def _end_session_run(self, session_id: str, lease: str | None) -> None:
        try:
            await prune_thread(self.state.checkpointer, session_id)
        finally:
            if lease is not None:
                await self.state.store.release_session(session_id, lease)

    async def _renew_lease(self, session: ChatSession, lease: str) -> None:
        seconds = self.state.settings.session_lease_seconds
        while True:
            await asyncio.sleep(seconds / 3)
            if not await self.state.store.renew_session(session.id, lease, hold_seconds=seconds):
                raise ApiError(
                    409,
                    "session_busy",
                    "Another send took over this chat while the tutor was"
                    " answering; send it again.",
                )

    async def _stream(
        self,
        run: RunRecord,
        graph: CompiledGraph,
        graph_input: Any,
        config: RunnableConfig,
        modes: Sequence[StreamModeName],
        *,
        durability: Durability,
        lease: tuple[ChatSession, str] | None,
    ) -> Literal["success", "error", "interrupted"]:
        graph_modes = list(dict.fromkeys(_GRAPH_MODES[m] for m in modes if m in _GRAPH_MODES))
        if "values" not in graph_modes:
            graph_modes.append("values")
        kwargs = run.kwargs
        publish = self._publisher(run.run_id, modes)
        work = self._pump(
            graph,
            graph_input,
            config,
            graph_modes,
            publish,
            durability=durability,
            subgraphs=bool(kwargs.get("stream_subgraphs")),
            interrupt_before=kwargs.get("interrupt_before"),
            interrupt_after=kwargs.get("interrupt_after"),
            events="events" in modes,
            requested_context=kwargs.get("context"),
        )
        try:
            if lease is None:
                await work
            else:
                pump = asyncio.ensure_future(work)
                keeper = asyncio.ensure_future(self._renew_lease(*lease))
                try:
                    await asyncio.wait([pump, keeper], return_when=asyncio.FIRST_COMPLETED)
                    if not pump.done():
                        pump.cancel()
                        await asyncio.gather(pump, return_exceptions=True)
                        keeper.result()
                    pump.result()
                finally:
                    keeper.cancel()
                    pump.cancel()
                    await asyncio.gather(pump, keeper, return_exceptions=True)
        except Exception as error:  # noqa: BLE001 - reported as the stream's `error` event
            await self.manager.publish(run.run_id, "error", dumps(self._error(run, error)))
            return "error"
        return "success"

    def _error(self, run: RunRecord, error: Exception) -> dict[str, str]:
        if isinstance(error, ApiError):
            return {"error": error.code, "message": error.message}
        if isinstance(error, GenerationError):
            return {"error": error.code or "GenerationError", "message": str(error)}
        if isinstance(error, UnencodableOutput):
            return {"error": "unencodable_output", "message": str(error)}
        if isinstance(error, MaterialUnreadable):
            # Bad input, said for the user ("upload it again"), never retried: not a bug.
            return {"error": type(error).__name__, "message": str(error)}
        logger.error(
            "protocol run failed",
            extra={"run_id": run.run_id, "graph": run.graph_id},
            exc_info=error,
        )
        return {"error": type(error).__name__, "message": "Something went wrong on our side."}

    def _publisher(self, run_id: str, modes: Sequence[StreamModeName]) -> _Publisher:
        return _Publisher(self.manager, run_id, modes)

    async def _pump(
        self,
        graph: CompiledGraph,
        graph_input: Any,
        config: RunnableConfig,
        graph_modes: list[StreamMode],
        publish: _Publisher,
        *,
        durability: Durability,
        subgraphs: bool,
        interrupt_before: Any,
        interrupt_after: Any,
        events: bool,
        requested_context: Mapping[str, Any] | None,
    ) -> None:
        context = self._context(graph.name, requested_context)
        if events:
            async for event in graph.astream_events(
                graph_input,
                config,
                version="v2",
                context=context,
                stream_mode=graph_modes,
                subgraphs=True,
                durability=durability,
                interrupt_before=interrupt_before,
                interrupt_after=interrupt_after,
            ):
                root = event.get("run_id") == str(config.get("run_id"))
                if root and event["event"] == "on_chain_stream":
                    ns, mode, data = event["data"]["chunk"]
                    if subgraphs or not ns:
                        await publish.part({"type": mode, "ns": ns, "data": data})
                elif not root or event["event"] not in ("on_chain_stream",):
                    await publish.event("events", jsonable(event))
            return
        async for part in graph.astream(
            graph_input,
            config,
            context=context,
            stream_mode=graph_modes,
            subgraphs=subgraphs,
            version="v2",
            durability=durability,
            interrupt_before=interrupt_before,
            interrupt_after=interrupt_after,
        ):
            await publish.part(part)

    async def settle(
        self,
        thread_id: str,
        graph: CompiledGraph,
        *,
        failed: bool = False,
        run: tuple[str, RunStatus] | None = None,
    ) -> None:
        """The thread's status, values and interrupts from its latest checkpoint (and, with
        `run`, that run's final status in the same transaction)."""
        snapshot = await graph.aget_state({"configurable": {"thread_id": thread_id}})
        interrupts = [interrupt_json(i) for i in snapshot.interrupts]
        status: ThreadStatus = "error" if failed else "interrupted" if interrupts else "idle"
        await self.records.update_thread(
            thread_id,
            status=status,
            values=jsonable(snapshot.values) if snapshot.created_at else None,
            interrupts={
                task.id: [interrupt_json(i) for i in task.interrupts]
                for task in snapshot.tasks
                if task.interrupts
            },
            run=run,
        )


class _Publisher:
    """Turns a graph's v2 stream parts into the protocol's events for the modes asked for."""

    def __init__(self, manager: DurableRunManager, run_id: str, modes: Sequence[StreamModeName]):
        self.manager = manager
        self.run_id = run_id
        self.modes = set(modes)
        self.messages: dict[str, BaseMessageChunk] = {}
        self.encoder = MessageEncoder()

    async def event(self, name: str, data: Any) -> None:
        await self.manager.publish(self.run_id, name, dumps(data))

    async def part(self, part: Mapping[str, Any]) -> None:
        kind = part["type"]
        ns = list(part.get("ns") or ())
        suffix = "".join(f"|{n}" for n in ns)
        data = part["data"]
        if kind == "values":
            if "values" in self.modes:
                values = jsonable(data)
                if part.get("interrupts") and isinstance(values, dict):
                    values["__interrupt__"] = [interrupt_json(i) for i in part["interrupts"]]
                await self.event("values" + suffix, values)
            return
        if kind == "messages":
            chunk, metadata = data
            if "messages-tuple" in self.modes:
                pair = self.encoder.pair(chunk, metadata)
                await self.manager.publish(self.run_id, "messages" + suffix, pair)
            if "messages" in self.modes:
                await self._accumulated(chunk, metadata, suffix)
            return
        if kind in self.modes:
            await self.event(kind + suffix, data)

    async def _accumulated(self, chunk: Any, metadata: Any, suffix: str) -> None:
        message_id = str(getattr(chunk, "id", None) or "")
        if not isinstance(chunk, BaseMessageChunk):
            await self.event("messages/complete" + suffix, [jsonable(chunk)])
            return
        if message_id not in self.messages:
            self.messages[message_id] = chunk
            metadata_json = self.encoder.metadata(metadata)
            await self.manager.publish(
                self.run_id,
                "messages/metadata" + suffix,
                b'{%b:{"metadata":%b}}' % (dumps(message_id), metadata_json),
            )
        else:
            self.messages[message_id] = self.messages[message_id] + chunk
        partial = b"[%b]" % dumps_message(self.messages[message_id])
        await self.manager.publish(self.run_id, "messages/partial" + suffix, partial)


def protocol_of(request: HTTPConnection) -> Protocol:
    protocol: Protocol = request.state.protocol
    return protocol


__all__ = ["Protocol", "ThreadView", "app_state", "protocol_of", "read_body", "valid_uuid"]
