"""What a run may carry, checked before it is stored: its `input` against the graph's input
schema, `command.update` against the state's fields, `command.goto` against the nodes and
`context` against the context's data fields.

The schemas are the ones `GET /assistants/{id}/schemas` serves (`assistants.schemas` takes them
from here), so what a client reads there is exactly what a run is held to: types are JSON's,
without coercion (`"3"` is not an integer), and a key the schema does not list is refused
(`additionalProperties: false`) instead of being dropped silently by the graph. An input's
required keys are required on a thread's first run only; later runs update the state the
earlier ones left, as LangGraph's input channels do.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import typing
from collections.abc import Callable, Mapping
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError

from server.errors import ApiError
from server.protocol.models import RunCreate
from server.registry import EXPORTED, CompiledGraph
from server.schemas import MAX_TIMEOUT_MS, MIN_TIMEOUT_MS

# Checks one value; raises ValidationError (pydantic) when it does not fit.
Check = Callable[[Any], object]


@dataclasses.dataclass(frozen=True, slots=True)
class Fields:
    """An object schema (`schema`, as served) and its checks, one per property."""

    schema: dict[str, Any]
    checks: Mapping[str, Check]
    required: frozenset[str]
    # The whole object's check when the graph has one (its input model), else per field.
    whole: Check | None = None


def _strict(hint: Any) -> tuple[dict[str, Any], Check] | None:
    """A type's JSON schema and its check; None when it has no JSON form (a router)."""
    try:
        adapter: TypeAdapter[Any] = TypeAdapter(hint)
        schema = adapter.json_schema(ref_template="#/$defs/{model}")
    except Exception:  # noqa: BLE001 - not data: not a schema field
        return None
    return schema, lambda value: adapter.validate_json(json.dumps(value), strict=True)


def object_fields(cls: Any, title: str, *, data_only: bool = False) -> Fields:
    """Per-field schemas and checks of a TypedDict or dataclass; fields without a JSON form
    are left out, and with `data_only` also fields of object types (a deadline, provider
    settings): a run's context is data a caller can send, not the objects the server builds."""
    try:
        hints = typing.get_type_hints(cls)
    except Exception:  # noqa: BLE001 - unresolvable annotations: no fields to describe
        hints = {}
    if dataclasses.is_dataclass(cls):
        init = [f for f in dataclasses.fields(cls) if f.init and f.name in hints]
        names = [f.name for f in init]
        required = {
            f.name
            for f in init
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        }
    else:
        names = list(hints)
        required = set(getattr(cls, "__required_keys__", ()))
    defs: dict[str, Any] = {}
    properties: dict[str, Any] = {}
    checks: dict[str, Check] = {}
    for name in names:
        described = _strict(hints[name])
        if described is None:
            continue
        schema, check = described
        if data_only and "$ref" in json.dumps(schema):
            continue
        defs.update(schema.pop("$defs", {}))
        properties[name] = schema
        checks[name] = check
    required &= set(properties)
    out: dict[str, Any] = {"title": title, "type": "object", "properties": properties}
    if required:
        out["required"] = sorted(required)
    if defs:
        out["$defs"] = defs
    return Fields(out, checks, frozenset(required))


def _input_fields(graph: CompiledGraph) -> Fields:
    """The graph's input model (LangGraph's own, the one `get_input_jsonschema` describes), or
    its input type field by field when the model cannot be built (Python 3.11's
    `typing.TypedDict`)."""
    try:
        model: type[BaseModel] = graph.get_input_schema()
        schema = graph.get_input_jsonschema()
    except Exception:  # noqa: BLE001 - described and checked field by field instead
        return object_fields(graph.builder.input_schema, "Input")
    return Fields(
        schema,
        {},
        frozenset(schema.get("required", ())),
        whole=lambda value: model.model_validate_json(json.dumps(value), strict=True),
    )


@functools.cache
def graph_fields(graph_id: str) -> tuple[Fields, Fields, Fields | None]:
    """The graph's input, state and context fields (the last None without a context schema)."""
    graph: CompiledGraph = EXPORTED[graph_id]  # type: ignore[index]
    builder = graph.builder
    context = (
        object_fields(builder.context_schema, "Context", data_only=True)
        if builder.context_schema is not None
        else None
    )
    inputs = _input_fields(graph)
    state = object_fields(builder.state_schema, "State")
    for fields in (inputs, state, context):
        if fields is not None:
            fields.schema["additionalProperties"] = False
    return inputs, state, context


def _refuse(where: str, message: str) -> ApiError:
    return ApiError(422, "validation_error", f"{where}: {message}")


def _first_error(
    fields: Fields, value: Mapping[str, Any], *, require: bool
) -> tuple[list[str], str] | None:
    """Where the first value that does not fit is, and why."""
    if fields.whole is None:
        for name, item in value.items():
            try:
                fields.checks[name](item)
            except ValidationError as error:
                first = error.errors()[0]
                return [name, *map(str, first["loc"])], first["msg"]
        return None
    try:
        fields.whole(value)
    except ValidationError as error:
        for found in error.errors():
            loc = [str(part) for part in found["loc"]]
            # A later run may leave out what the thread's state already holds.
            if require or found["type"] != "missing" or len(loc) != 1:
                return loc, found["msg"]
    return None


def _check_object(
    where: str, value: Mapping[str, Any], fields: Fields, *, what: str, require: bool
) -> None:
    if unknown := sorted(set(value) - set(fields.schema.get("properties", {}))):
        raise _refuse(f"{where}.{unknown[0]}"[:200], f"not {what}.")
    if require and (missing := sorted(fields.required - set(value))):
        raise _refuse(f"{where}.{missing[0]}", "Field required.")
    if (found := _first_error(fields, value, require=require)) is not None:
        loc, message = found
        raise _refuse(".".join([where, *loc]), f"{message}.")


def check_run(graph_id: str, body: RunCreate, *, first_run: bool, session: bool) -> None:
    """422 `validation_error` naming the first field of `body` the graph cannot take.

    `first_run`: the thread has no checkpoint yet (the input's required keys are required);
    `session`: a workspace chat session, whose input is its own (`user_message`)."""
    inputs, state, context = graph_fields(graph_id)
    graph: CompiledGraph = EXPORTED[graph_id]  # type: ignore[index]
    if body.input is not None and not session:
        _check_object(
            "input",
            body.input,
            inputs,
            what=f"an input of the {graph_id} graph",
            require=first_run,
        )
    if body.command is not None:
        update = body.command.update
        if update is not None:
            pairs = update.items() if isinstance(update, dict) else update
            try:
                updates = dict(pairs)
            except (TypeError, ValueError):
                raise _refuse("command.update", "an object or [key, value] pairs.") from None
            if not all(isinstance(key, str) for key in updates):
                raise _refuse("command.update", "its keys must be text.")
            _check_object(
                "command.update",
                updates,
                state,
                what=f"a field of the {graph_id} graph's state",
                require=False,
            )
        goto = body.command.goto
        for node in [goto] if isinstance(goto, str) else goto or []:
            if node not in graph.nodes or node == "__start__":
                raise _refuse("command.goto", f"no node named {node[:80]!r}.")
    if body.context:
        if context is None:
            raise _refuse("context", f"the {graph_id} graph takes no context.")
        _check_object(
            "context",
            body.context,
            context,
            what=f"a context field of the {graph_id} graph",
            require=False,
        )
        timeout_ms = body.context.get("timeout_ms")
        if timeout_ms is not None and not MIN_TIMEOUT_MS <= timeout_ms <= MAX_TIMEOUT_MS:
            raise _refuse("context.timeout_ms", f"from {MIN_TIMEOUT_MS} to {MAX_TIMEOUT_MS} ms.")


def check_state_update(graph_id: str, values: Mapping[str, Any]) -> None:
    """422 `validation_error` naming the first key of a state update the state cannot hold."""
    _, state, _ = graph_fields(graph_id)
    what = f"a field of the {graph_id} graph's state"
    _check_object("values", values, state, what=what, require=False)
    check_no_session("values", values)


def check_no_session(where: str, values: Mapping[str, Any]) -> None:
    """422 `validation_error` when `values` (a run's input, a state update, a thread's state)
    names a workspace session: the chat graph then reads that session's transcript into the
    prompt and saves the turn into it, so a session runs only on its own thread, where the
    server builds the input from the session (`Protocol._session_input`)."""
    if values.get("session_id"):
        raise _refuse(
            f"{where}.session_id",
            "a workspace chat runs on its session's own thread (/threads/{session_id}),"
            " with only user_message as input.",
        )
