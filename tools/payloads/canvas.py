"""The canvas spec the web app renders: a chart, a Mermaid diagram, waves or vectors.

`validate_*` return every contract violation (an empty list means valid); `normalise_canvas_spec`
repairs only what cannot change meaning (null optional fields, numbers sent as text, a fenced
definition) and leaves every judgement to validation.
"""

from __future__ import annotations

import math
import re
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

from tools.payloads.injection import Injected, injection_errors

__all__ = [
    "CANVAS_TYPES",
    "CHART_TYPES",
    "DIAGRAM_TYPES",
    "NO_DATA_LABEL",
    "normalise_canvas_spec",
    "validate_canvas_spec",
    "validate_chart_spec",
    "validate_mermaid",
]

CANVAS_TYPES = ("chart", "diagram", "wave", "vector")
CHART_TYPES = ("bar", "line", "pie", "scatter")
DIAGRAM_TYPES = ("flowchart", "concept-map")
NO_DATA_LABEL = "No data available"
MAX_TITLE = 200
MAX_LABEL = 80
WAVES = (1, 4)
VECTORS = (1, 6)
AMPLITUDE = (0.1, 2.0)
FREQUENCY = (0.1, 5.0)
MAGNITUDE = (0.5, 5.0)
ANGLE = (0.0, 360.0)
_RANGES = {
    "waves": {"amplitude": AMPLITUDE, "frequency": FREQUENCY},
    "vectors": {"magnitude": MAGNITUDE, "angleDeg": ANGLE},
}

_REQUIRED = {
    "chart": frozenset({"type", "chartType", "title", "data"}),
    "diagram": frozenset({"type", "diagramType", "definition", "title"}),
    "wave": frozenset({"type", "title", "waves"}),
    "vector": frozenset({"type", "title", "vectors"}),
}
_OPTIONAL = {
    "chart": frozenset({"xLabel", "yLabel"}),
    "diagram": frozenset[str](),
    "wave": frozenset[str](),
    "vector": frozenset({"gridSize"}),
}
_COLOR = re.compile(r"#[0-9a-fA-F]{6}")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _text(value: Any, where: str, limit: int) -> list[str]:
    if not isinstance(value, str) or not value.strip():
        return [f"{where} must be non-empty text."]
    if len(value) > limit:
        return [f"{where} must be at most {limit} characters (it has {len(value)})."]
    return []


def _ranged(value: Any, where: str, bounds: tuple[float, float]) -> list[str]:
    low, high = bounds
    if not _is_number(value):
        return [f"{where} must be a JSON number (not text, null or true/false)."]
    if not low <= value <= high:
        return [f"{where} must be between {low:g} and {high:g} (it is {value:g})."]
    return []


def _keys(item: Mapping[str, Any], required: frozenset[str], where: str) -> list[str]:
    errors = [f"{where} is missing `{key}`." for key in sorted(required - item.keys())]
    errors += [f"{where} has an unknown field `{key}`." for key in sorted(item.keys() - required)]
    return errors


def _common(spec: Mapping[str, Any], kind: str) -> list[str]:
    """Type, title and field names: no missing, unknown or null optional fields."""
    errors: list[str] = []
    if spec.get("type") != kind:
        errors.append(f'`type` must be "{kind}".')
    allowed = _REQUIRED[kind] | _OPTIONAL[kind]
    errors += [f"The {kind} spec is missing `{k}`." for k in sorted(_REQUIRED[kind] - spec.keys())]
    errors += [
        f"The {kind} spec has an unknown field `{k}`; remove it."
        for k in sorted(spec.keys() - allowed, key=str)
    ]
    errors += [
        f"`{key}` is null; omit an optional field instead of sending null."
        for key in sorted(_OPTIONAL[kind])
        if key in spec and spec[key] is None
    ]
    if "title" in spec:
        errors += _text(spec["title"], "`title`", MAX_TITLE)
    return errors


def _items(
    spec: Mapping[str, Any], field: str, counts: tuple[int, int], check: Callable[[Any, str], Any]
) -> list[str]:
    items = spec.get(field)
    low, high = counts
    if not isinstance(items, list):
        return [f"`{field}` must be a list."] if field in spec else []
    errors = []
    if not low <= len(items) <= high:
        errors.append(f"`{field}` must hold {low} to {high} items (it has {len(items)}).")
    for index, item in enumerate(items, start=1):
        where = f"`{field}` item {index}"
        if not isinstance(item, dict):
            errors.append(f"{where} must be an object.")
        else:
            errors += check(item, where)
    return errors


def _color(value: Any, where: str) -> list[str]:
    if isinstance(value, str) and _COLOR.fullmatch(value):
        return []
    return [f"{where}: `color` must be a hex colour like #1f77b4."]


def _is_no_data(data: list[Any]) -> bool:
    if len(data) != 1 or not isinstance(data[0], dict) or set(data[0]) != {"label", "value"}:
        return False
    value = data[0]["value"]
    return data[0]["label"] == NO_DATA_LABEL and type(value) in (int, float) and value == 0


def validate_chart_spec(
    spec: Any, *, min_points: int = 3, max_points: int = 8, allow_no_data: bool = False
) -> list[str]:
    """Chart rules; `allow_no_data` accepts the single `No data available` point of data queries."""
    if not isinstance(spec, dict):
        return ["The chart spec must be a JSON object."]
    errors = _common(spec, "chart")
    if "chartType" in spec and spec["chartType"] not in CHART_TYPES:
        errors.append(f"`chartType` must be one of {', '.join(CHART_TYPES)}.")
    for key in ("xLabel", "yLabel"):
        if spec.get(key) is not None:
            errors += _text(spec[key], f"`{key}`", MAX_LABEL)
    data = spec.get("data")
    if isinstance(data, list) and allow_no_data and _is_no_data(data):
        return errors
    seen: set[str] = set()

    def point(item: dict[str, Any], where: str) -> list[str]:
        found = _keys(item, frozenset({"label", "value"}), where)
        found += _text(item.get("label"), f"{where}: `label`", MAX_LABEL)
        if not _is_number(item.get("value")):
            found.append(f"{where}: `value` must be a finite JSON number (not text or true/false).")
        label = item.get("label")
        if isinstance(label, str) and label.strip():
            key = " ".join(label.casefold().split())
            if key in seen:
                found.append(f"{where}: the label {label!r} is used twice; labels must differ.")
            seen.add(key)
        return found

    errors += _items(spec, "data", (min_points, max_points), point)
    if spec.get("chartType") == "pie" and isinstance(data, list):
        values: list[Any] = [p.get("value") for p in data if isinstance(p, dict)]
        numbers = [float(v) for v in values if _is_number(v)]
        if len(numbers) == len(values) and (min(numbers, default=0) < 0 or sum(numbers) <= 0):
            errors.append("A pie chart needs non-negative values with a positive total.")
    return errors


# ---------------------------------------------------------------------------- Mermaid subset

MAX_DEFINITION = 4000
MAX_NODE_LABEL = 60
MAX_NODES = 30
_HEADER = re.compile(r"(?:flowchart|graph)[ \t]+(?:TD|TB|LR|RL|BT)")
_NODE_ID = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_SHAPES = (("((", "))"), ("(", ")"), ("[", "]"), ("{", "}"))
_LINK = re.compile(r"[ \t]*(?P<op>-->|---)(?:\|(?P<pipe>[^|]*)\|)?[ \t]*")
_TEXT_LINK = re.compile(r"[ \t]*--[ \t]+(?P<text>[^|]+?)[ \t]+(?P<op>-->|---)[ \t]*")
_RESERVED = frozenset(
    {"end", "graph", "flowchart", "subgraph", "style", "classDef", "class", "click", "linkStyle"}
)
_OPENING = {")": "(", "]": "[", "}": "{"}
Edge = tuple[str, str, str | None]


class _Syntax(ValueError):
    """A statement outside the supported Mermaid subset."""


def _label(text: str, where: str) -> str:
    """The label's text; raises `_Syntax` for anything that could break the renderer."""
    quoted = len(text) >= 2 and text[0] == text[-1] == '"'
    body = text[1:-1] if quoted else text
    if not body.strip():
        raise _Syntax(f"{where} is empty.")
    if len(body) > MAX_NODE_LABEL:
        raise _Syntax(f"{where} is longer than {MAX_NODE_LABEL} characters.")
    if '"' in body or "|" in body or "\n" in body:
        raise _Syntax(f"{where} has an unbalanced quote or a pipe: {text!r}.")
    stack: list[str] = []
    for char in body:
        if char in "([{":
            stack.append(char)
        elif char in _OPENING and (not stack or stack.pop() != _OPENING[char]):
            raise _Syntax(f"{where} has an unbalanced bracket: {text!r}.")
    if stack:
        raise _Syntax(f"{where} has an unbalanced bracket: {text!r}.")
    if not quoted and any(char in body for char in "()[]{}"):
        raise _Syntax(f"{where} holds brackets: {text!r}; wrap the label in double quotes.")
    return body.strip()


def _node(line: str, pos: int, where: str, nodes: dict[str, str | None]) -> tuple[int, str]:
    """Read `id` with an optional shape at `pos`; record it and return the position after it."""
    match = _NODE_ID.match(line, pos)
    if match is None:
        raise _Syntax(f"{where}: expected a node id (letters, digits, _) at {line[pos:][:20]!r}.")
    node, pos = match.group(), match.end()
    if node in _RESERVED:
        raise _Syntax(f"{where}: `{node}` is a reserved Mermaid word; use another node id.")
    for opener, closer in _SHAPES:
        if not line.startswith(opener, pos):
            continue
        start = pos + len(opener)
        if line.startswith('"', start):
            end = line.find('"', start + 1) + 1
            if end == 0 or not line.startswith(closer, end):
                raise _Syntax(f"{where}: the label of `{node}` has an unbalanced quote.")
        else:
            end = line.find(closer, start)
            if end < 0:
                raise _Syntax(f"{where}: the label of `{node}` has no closing `{closer}`.")
        nodes[node] = _label(line[start:end], f"{where}: the label of `{node}`")
        return end + len(closer), node
    nodes.setdefault(node, None)
    return pos, node


def _statement(line: str, where: str, nodes: dict[str, str | None], edges: list[Edge]) -> None:
    """One node declaration, or a chain of links between nodes."""
    pos, source = _node(line, 0, where, nodes)
    if pos == len(line) and nodes[source] is None:
        raise _Syntax(f"{where}: `{source}` alone declares nothing; write {source}[Label].")
    while pos < len(line):
        link = _LINK.match(line, pos) or _TEXT_LINK.match(line, pos)
        if link is None:
            raise _Syntax(
                f"{where}: cannot read {line[pos:][:20]!r}; links are -->, ---, -->|text| "
                "or -- text -->."
            )
        groups = link.groupdict()
        text = groups.get("pipe", groups.get("text"))
        label = None if text is None else _label(text.strip(), f"{where}: a link label")
        pos = link.end()
        if line[pos - 1] in "->|" and line[pos : pos + 1] in ("o", "x"):
            raise _Syntax(f"{where}: put a space before `{line[pos]}` so it is not an edge end.")
        pos, target = _node(line, pos, where, nodes)
        edges.append((source, target, label))
        source = target


def _flow_errors(nodes: dict[str, str | None], edges: list[Edge]) -> list[str]:
    """A flowchart has one start node (or is one cycle) and reaches every node from it."""
    incoming = {target for source, target, _ in edges if source != target}
    starts = [node for node in nodes if node not in incoming]
    if len(starts) > 1:
        return [f"A flowchart needs one start node; {', '.join(starts)} have no incoming link."]
    start = starts[0] if starts else next(iter(nodes))
    following: dict[str, list[str]] = {}
    for source, target, _ in edges:
        following.setdefault(source, []).append(target)
    reached, queue = {start}, deque([start])
    while queue:
        for node in following.get(queue.popleft(), []):
            if node not in reached:
                reached.add(node)
                queue.append(node)
    unreached = [node for node in nodes if node not in reached]
    if unreached:
        return [
            f"Every node must be reachable from `{start}`; not reached: {', '.join(unreached)}."
        ]
    return []


def validate_mermaid(definition: str, diagram_type: str) -> list[str]:
    """Parse the supported flowchart subset and check the rules of `diagram_type`."""
    if "```" in definition:
        return ["`definition` must be bare Mermaid text without ``` fences."]
    lines = [
        (number, line.strip().removesuffix(";").rstrip())
        for number, line in enumerate(definition.splitlines(), start=1)
    ]
    lines = [(number, line) for number, line in lines if line and not line.startswith("%%")]
    if not lines or not _HEADER.fullmatch(lines[0][1]):
        return ["The definition must start with `flowchart TD` (or TB, LR, RL, BT; or `graph`)."]
    nodes: dict[str, str | None] = {}
    edges: list[Edge] = []
    errors: list[str] = []
    for number, line in lines[1:]:
        try:
            _statement(line, f"Line {number}", nodes, edges)
        except _Syntax as error:
            errors.append(str(error))
    if errors:
        return errors[:10]
    errors += [
        f"Node `{node}` is linked but never declared with a label, e.g. {node}[Label]."
        for node, label in nodes.items()
        if label is None
    ]
    if len(nodes) < 2 or not edges:
        errors.append("A diagram needs at least 2 nodes and 1 link.")
    if len(nodes) > MAX_NODES:
        errors.append(f"A diagram may have at most {MAX_NODES} nodes.")
    if errors:
        return errors
    if diagram_type == "concept-map":
        labelled = sum(1 for *_, label in edges if label)
        if labelled * 2 < len(edges):
            errors.append(
                "A concept map names its relationships (A -->|produces| B): only "
                f"{labelled} of {len(edges)} links have a label; at least half must."
            )
    elif diagram_type == "flowchart":
        errors += _flow_errors(nodes, edges)
    return errors


def _diagram(spec: dict[str, Any]) -> list[str]:
    errors = _common(spec, "diagram")
    kind = spec.get("diagramType")
    if "diagramType" in spec and kind not in DIAGRAM_TYPES:
        errors.append(f"`diagramType` must be one of {', '.join(DIAGRAM_TYPES)}.")
    definition = spec.get("definition")
    if "definition" not in spec:
        return errors
    if not isinstance(definition, str) or not definition.strip():
        return [*errors, "`definition` must be non-empty Mermaid text."]
    if len(definition) > MAX_DEFINITION:
        return [*errors, f"`definition` must be at most {MAX_DEFINITION} characters."]
    return errors + validate_mermaid(definition, kind if isinstance(kind, str) else "")


Validator = Callable[[dict[str, Any]], list[str]]


def _drawn(kind: str, field: str, counts: tuple[int, int]) -> Validator:
    """The validator of a wave or vector spec: labelled, coloured items with ranged numbers."""
    ranges = _RANGES[field]

    def item(entry: dict[str, Any], where: str) -> list[str]:
        found = _keys(entry, frozenset({"label", "color", *ranges}), where)
        found += _text(entry.get("label"), f"{where}: `label`", MAX_LABEL)
        for key, bounds in ranges.items():
            found += _ranged(entry.get(key), f"{where}: `{key}`", bounds)
        return found + _color(entry.get("color"), where)

    def check(spec: dict[str, Any]) -> list[str]:
        errors = _common(spec, kind) + _items(spec, field, counts, item)
        grid = spec.get("gridSize")
        if kind == "vector" and grid is not None and (not _is_number(grid) or grid <= 0):
            errors.append("`gridSize` must be a positive number (or be left out).")
        return errors

    return check


_VALIDATORS: dict[str, Validator] = {
    "chart": validate_chart_spec,
    "diagram": _diagram,
    "wave": _drawn("wave", "waves", WAVES),
    "vector": _drawn("vector", "vectors", VECTORS),
}


def validate_canvas_spec(
    spec: Any, *, expected_type: str | None = None, inputs: str = ""
) -> list[str]:
    """Every contract violation in a canvas spec; `expected_type` pins the requested kind.

    `inputs` are the texts the spec was drawn from (hint, question, answer): no label or title
    may carry an instruction planted in them (`tools.payloads.injection`).
    """
    if not isinstance(spec, dict):
        return ["The canvas spec must be a JSON object."]
    kind = spec.get("type")
    if kind not in CANVAS_TYPES:
        return [f"`type` must be one of {', '.join(CANVAS_TYPES)} (got {kind!r})."]
    if expected_type is not None and kind != expected_type:
        return [f'A {expected_type} was requested: `type` must be "{expected_type}", not "{kind}".']
    return _VALIDATORS[kind](spec) + injection_errors(spec, Injected.of(inputs))


# ---------------------------------------------------------------------------- normalising

_NUMERIC_FIELDS = frozenset({"value", "gridSize", *_RANGES["waves"], *_RANGES["vectors"]})
_INTEGER = re.compile(r"[+-]?\d+")
_DECIMAL = re.compile(r"[+-]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?")
_THOUSANDS = re.compile(r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?")
_FENCED = re.compile(r"```[ \t]*[A-Za-z-]*[ \t]*\n(?P<body>.*?)\n?[ \t]*```", re.S)


def _as_number(text: str) -> Any:
    """`text` as an int or float when it is exactly a finite number, else `text` unchanged."""
    plain = text.replace(",", "") if _THOUSANDS.fullmatch(text) else text
    if _INTEGER.fullmatch(plain):
        return int(plain)
    if _DECIMAL.fullmatch(plain):
        number = float(plain)
        return number if math.isfinite(number) else text
    return text


def _tidy(key: str, value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _tidy(k, v) for k, v in value.items()}
    if isinstance(value, list):
        return [_tidy(key, item) for item in value]
    if not isinstance(value, str):
        return value
    text = value.strip()
    if key in _NUMERIC_FIELDS:
        return _as_number(text)
    if key == "definition":
        fenced = _FENCED.fullmatch(text)
        return fenced.group("body").strip() if fenced else text
    return text.lower() if key == "color" else text


def normalise_canvas_spec(spec: Mapping[str, Any]) -> dict[str, Any]:
    """Drop null optional fields, trim text, turn numeric strings into numbers, unfence Mermaid.

    Nothing is clamped or invented: out-of-range values stay for validation to report.
    """
    optional = frozenset().union(*_OPTIONAL.values())
    return {
        key: _tidy(key, value)
        for key, value in spec.items()
        if not (key in optional and value is None)
    }
