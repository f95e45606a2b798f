"""The canvas contract: chart, diagram (Mermaid subset), wave and vector specs, and normalising."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tools.payloads.canvas import (
    normalise_canvas_spec,
    validate_canvas_spec,
    validate_chart_spec,
    validate_mermaid,
)

CHART: dict[str, Any] = {
    "type": "chart",
    "chartType": "bar",
    "title": "Densities of metals",
    "data": [
        {"label": "Copper", "value": 8.96},
        {"label": "Aluminium", "value": 2.7},
        {"label": "Iron", "value": 7.87},
    ],
    "xLabel": "Metal",
    "yLabel": "g/cm³",
}
FLOW = "flowchart TD\n    A[Evaporation] --> B[Condensation]\n    B --> C[Precipitation]"
DIAGRAM: dict[str, Any] = {
    "type": "diagram",
    "diagramType": "flowchart",
    "definition": FLOW,
    "title": "Water cycle",
}
WAVE: dict[str, Any] = {
    "type": "wave",
    "title": "Two notes",
    "waves": [
        {"label": "440 Hz", "amplitude": 1, "frequency": 2.5, "color": "#2563eb"},
        {"label": "880 Hz", "amplitude": 1, "frequency": 5, "color": "#DC2626"},
    ],
}
VECTOR: dict[str, Any] = {
    "type": "vector",
    "title": "Forces on a block",
    "vectors": [
        {"label": "5 N at 30°", "magnitude": 5, "angleDeg": 30, "color": "#2563eb"},
        {"label": "3 N at 120°", "magnitude": 3, "angleDeg": 120, "color": "#dc2626"},
    ],
    "gridSize": 1,
}
VALID = {"chart": CHART, "diagram": DIAGRAM, "wave": WAVE, "vector": VECTOR}


def changed(spec: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    """A copy of `spec` with the item at `path` set to `value` (or deleted for `...`)."""
    result = copy.deepcopy(spec)
    target = result
    for step in path[:-1]:
        target = target[step]
    if value is ...:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return result


@pytest.mark.parametrize("kind", sorted(VALID))
def test_each_valid_spec_passes(kind: str) -> None:
    assert validate_canvas_spec(VALID[kind]) == []
    assert validate_canvas_spec(VALID[kind], expected_type=kind) == []


def test_optional_fields_may_be_left_out() -> None:
    bare_chart = {k: v for k, v in CHART.items() if k not in ("xLabel", "yLabel")}
    bare_vector = {k: v for k, v in VECTOR.items() if k != "gridSize"}
    assert validate_canvas_spec(bare_chart) == []
    assert validate_canvas_spec(bare_vector) == []


@pytest.mark.parametrize(
    ("spec", "expected", "message"),
    [
        (CHART, "diagram", 'A diagram was requested: `type` must be "diagram"'),
        ({**CHART, "type": "table"}, None, "`type` must be one of"),
        ([CHART], None, "must be a JSON object"),
    ],
)
def test_wrong_or_unknown_type(spec: Any, expected: str | None, message: str) -> None:
    errors = validate_canvas_spec(spec, expected_type=expected)
    assert len(errors) == 1 and message in errors[0]


@pytest.mark.parametrize(
    ("kind", "path", "value", "message"),
    [
        # chart
        ("chart", ("chartType",), "donut", "`chartType` must be one of"),
        ("chart", ("title",), " ", "`title` must be non-empty"),
        ("chart", ("title",), "x" * 201, "at most 200"),
        ("chart", ("xLabel",), None, "`xLabel` is null"),
        ("chart", ("yLabel",), None, "`yLabel` is null"),
        ("chart", ("xLabel",), "", "`xLabel` must be non-empty"),
        ("chart", ("colour",), "red", "unknown field `colour`"),
        ("chart", ("data",), [], "3 to 8 items"),
        ("chart", ("data",), [{"label": f"P{n}", "value": n} for n in range(9)], "3 to 8"),
        ("chart", ("data", 0, "value"), True, "`value` must be a finite JSON number"),
        ("chart", ("data", 0, "value"), "8.96", "`value` must be a finite JSON number"),
        ("chart", ("data", 0, "value"), float("nan"), "`value` must be a finite JSON number"),
        ("chart", ("data", 0, "value"), None, "`value` must be a finite JSON number"),
        ("chart", ("data", 0, "label"), "", "`label` must be non-empty"),
        ("chart", ("data", 0, "label"), "L" * 81, "at most 80"),
        ("chart", ("data", 1, "label"), "copper ", "used twice"),
        ("chart", ("data", 0, "unit"), "g", "unknown field `unit`"),
        ("chart", ("data", 0), 8.96, "must be an object"),
        ("chart", ("data",), ..., "missing `data`"),
        # diagram
        ("diagram", ("diagramType",), "mindmap", "`diagramType` must be one of"),
        ("diagram", ("definition",), "", "non-empty Mermaid"),
        ("diagram", ("definition",), f"```mermaid\n{FLOW}\n```", "without ``` fences"),
        ("diagram", ("definition",), FLOW + "\n" + "%%" * 2001, "at most 4000"),
        ("diagram", ("style",), "x", "unknown field `style`"),
        # wave
        ("wave", ("waves",), [], "1 to 4 items"),
        ("wave", ("waves",), WAVE["waves"] * 3, "1 to 4 items"),
        ("wave", ("waves", 0, "amplitude"), 2.5, "`amplitude` must be between 0.1 and 2"),
        ("wave", ("waves", 0, "amplitude"), 0.05, "`amplitude` must be between 0.1 and 2"),
        ("wave", ("waves", 0, "frequency"), 6, "`frequency` must be between 0.1 and 5"),
        ("wave", ("waves", 0, "frequency"), False, "`frequency` must be a JSON number"),
        ("wave", ("waves", 0, "color"), "blue", "hex colour"),
        ("wave", ("waves", 0, "color"), "#12345", "hex colour"),
        ("wave", ("waves", 0, "color"), ..., "missing `color`"),
        ("wave", ("waves", 0, "phase"), 0, "unknown field `phase`"),
        # vector
        ("vector", ("vectors",), [], "1 to 6 items"),
        ("vector", ("vectors",), VECTOR["vectors"] * 4, "1 to 6 items"),
        ("vector", ("vectors", 0, "magnitude"), 0.2, "`magnitude` must be between 0.5 and 5"),
        ("vector", ("vectors", 0, "magnitude"), 7, "`magnitude` must be between 0.5 and 5"),
        ("vector", ("vectors", 0, "angleDeg"), 361, "`angleDeg` must be between 0 and 360"),
        ("vector", ("vectors", 0, "angleDeg"), -10, "`angleDeg` must be between 0 and 360"),
        ("vector", ("vectors", 0, "label"), "", "`label` must be non-empty"),
        ("vector", ("gridSize",), None, "`gridSize` is null"),
        ("vector", ("gridSize",), 0, "`gridSize` must be a positive number"),
        ("vector", ("gridSize",), -1, "`gridSize` must be a positive number"),
        ("vector", ("gridSize",), True, "`gridSize` must be a positive number"),
        ("vector", ("gridSize",), "1", "`gridSize` must be a positive number"),
    ],
)
def test_contract_violations_are_reported(
    kind: str, path: tuple[Any, ...], value: Any, message: str
) -> None:
    errors = validate_canvas_spec(changed(VALID[kind], path, value), expected_type=kind)
    assert any(message in error for error in errors), errors


def test_chart_boundaries_and_pie_totals() -> None:
    points = [{"label": f"P{n}", "value": n} for n in range(8)]
    assert validate_canvas_spec({**CHART, "data": points}) == []
    assert validate_canvas_spec({**CHART, "data": points[:2]}) != []
    pie = {**CHART, "chartType": "pie"}
    assert validate_canvas_spec(pie) == []
    negative = changed(pie, ("data", 0, "value"), -1)
    assert any("non-negative" in e for e in validate_canvas_spec(negative))
    zeros = {**pie, "data": [{"label": f"P{n}", "value": 0} for n in range(3)]}
    assert any("positive total" in e for e in validate_canvas_spec(zeros))


def test_data_query_charts_allow_two_points_and_the_no_data_answer() -> None:
    two = {**CHART, "data": CHART["data"][:2]}
    assert validate_chart_spec(two) != []
    assert validate_chart_spec(two, min_points=2) == []
    no_data = {**CHART, "data": [{"label": "No data available", "value": 0}]}
    assert validate_chart_spec(no_data, min_points=2, allow_no_data=True) == []
    assert validate_chart_spec(no_data, min_points=2) != []
    for wrong in ({"label": "No data available", "value": False}, {"label": "None", "value": 0}):
        spec = {**CHART, "data": [wrong]}
        assert validate_chart_spec(spec, min_points=2, allow_no_data=True) != []
    assert validate_chart_spec({**DIAGRAM}) != []


# ---------------------------------------------------------------------------- Mermaid


@pytest.mark.parametrize(
    "definition",
    [
        FLOW,
        "graph LR\nA[Start] --> B{Is x > 0?}\nB -->|yes| C((Done))\nB -- no --> D(Retry)\nD --> B",
        "%% a comment\nflowchart TB;\n  A[a] --> B[b] --> C[c];\n\n%% end",
        'flowchart BT\nA["Force (N)"] --> B[Acceleration]',
        "flowchart RL\nA[Start]\nB[Stop]\nA --- B",
        # A pure cycle starts at its first node.
        "flowchart TD\nA[Evaporation] --> B[Condensation]\nB --> C[Rain]\nC --> A",
        "flowchart TD\nA[One]-->B[Two]",
    ],
)
def test_supported_flowcharts_parse(definition: str) -> None:
    assert validate_mermaid(definition, "flowchart") == []


@pytest.mark.parametrize(
    ("definition", "message"),
    [
        (f"```mermaid\n{FLOW}\n```", "without ``` fences"),
        ("A[a] --> B[b]", "must start with `flowchart TD`"),
        ("flowchart XY\nA[a] --> B[b]", "must start with `flowchart TD`"),
        ("sequenceDiagram\nA->>B: hi", "must start with `flowchart TD`"),
        ("flowchart TD\nA[Force (N)] --> B[b]", "wrap the label in double quotes"),
        ("flowchart TD\nA(Force (N) --> B[b]", "unbalanced bracket"),
        ("flowchart TD\nA[Force --> B[b]", "unbalanced bracket"),
        ('flowchart TD\nA[Say "hi] --> B[b]', "unbalanced quote"),
        ('flowchart TD\nA["Say "hi""] --> B[b]', "unbalanced quote"),
        ("flowchart TD\nA[a|b] --> B[b]", "pipe"),
        ("flowchart TD\nA[a] -->|x|y| B[b]", "cannot read"),
        ("flowchart TD\nA[] --> B[b]", "is empty"),
        ("flowchart TD\nA[" + "x" * 61 + "] --> B[b]", "longer than 60"),
        ("flowchart TD\nA[a] --> B", "`B` is linked but never declared"),
        ("flowchart TD\nA[a] --> B[b]\nB --> C", "`C` is linked but never declared"),
        ("flowchart TD\n1A[a] --> B[b]", "expected a node id"),
        ("flowchart TD\nA[a] --> end[b]", "reserved Mermaid word"),
        ("flowchart TD\nA[a] ==> B[b]", "cannot read"),
        ("flowchart TD\nA[a] -.-> B[b]", "cannot read"),
        ("flowchart TD\nA[a] --> B[b] & C[c]", "cannot read"),
        ("flowchart TD\nA[a]-->ops[b]", "put a space before `o`"),
        ("flowchart TD\nsubgraph one\nA[a] --> B[b]\nend", "reserved Mermaid word"),
        ("flowchart TD\nA", "declares nothing"),
        ("flowchart TD\nA[a]\nB[b]", "at least 2 nodes and 1 link"),
        ("flowchart TD\nA[a] --> A", "at least 2 nodes and 1 link"),
        ("flowchart TD\nA[a] --> B[b]\nC[c] --> B", "one start node; A, C"),
        ("flowchart TD\nA[a] --> B[b]\nC[c] --> D[d]\nD --> C", "not reached: C, D"),
    ],
)
def test_unsupported_or_broken_mermaid_is_rejected(definition: str, message: str) -> None:
    errors = validate_mermaid(definition, "flowchart")
    assert any(message in error for error in errors), errors


def test_concept_maps_need_relationship_words_on_half_their_links() -> None:
    labelled = "graph TD\nP[Photosynthesis] -->|produces| G[Glucose]\nP --- O[Oxygen]"
    assert validate_mermaid(labelled, "concept-map") == []
    text_link = "graph TD\nP[Photosynthesis] -- needs --> L[Light]\nP --> W[Water]"
    assert validate_mermaid(text_link, "concept-map") == []
    bare = "graph TD\nP[Photosynthesis] --> G[Glucose]\nP --> O[Oxygen]\nP -->|uses| L[Light]"
    errors = validate_mermaid(bare, "concept-map")
    assert len(errors) == 1 and "only 1 of 3 links" in errors[0]
    # Concept maps may branch from several roots; flowcharts may not.
    roots = "graph TD\nA[Sun] -->|heats| W[Water]\nM[Moon] -->|pulls| W"
    assert validate_mermaid(roots, "concept-map") == []
    assert validate_mermaid(roots, "flowchart") != []


def test_diagram_specs_apply_their_diagram_type() -> None:
    bare = "graph TD\nP[Photosynthesis] --> G[Glucose]\nP --> O[Oxygen]"
    as_map = {**DIAGRAM, "diagramType": "concept-map", "definition": bare}
    assert any("relationship" in e for e in validate_canvas_spec(as_map))
    assert validate_canvas_spec({**as_map, "diagramType": "flowchart"}) == []


# ---------------------------------------------------------------------------- normalising


def test_normalise_drops_nulls_coerces_numbers_and_unfences() -> None:
    raw = {
        "type": "chart",
        "chartType": "bar",
        "title": "  Densities ",
        "data": [
            {"label": " Copper", "value": "8.96"},
            {"label": "Lead", "value": "1,134"},
            {"label": "Tin", "value": " 7 "},
            {"label": "Gold", "value": "lots"},
            {"label": "Osmium", "value": "1e999"},
        ],
        "xLabel": None,
        "yLabel": "g/cm³",
    }
    tidy = normalise_canvas_spec(raw)
    assert "xLabel" not in tidy and tidy["yLabel"] == "g/cm³"
    assert tidy["title"] == "Densities"
    assert [p["value"] for p in tidy["data"]] == [8.96, 1134, 7, "lots", "1e999"]
    assert tidy["data"][0]["label"] == "Copper"
    assert raw["xLabel"] is None  # the input is not modified

    vector = normalise_canvas_spec({**VECTOR, "gridSize": None})
    assert "gridSize" not in vector and validate_canvas_spec(vector) == []
    scaled = normalise_canvas_spec(changed(VECTOR, ("vectors", 0, "magnitude"), "50"))
    # Nothing is clamped: validation judges the out-of-range value.
    assert scaled["vectors"][0]["magnitude"] == 50
    assert validate_canvas_spec(scaled) != []

    fenced = normalise_canvas_spec({**DIAGRAM, "definition": f"```mermaid\n{FLOW}\n```"})
    assert fenced["definition"] == FLOW and validate_canvas_spec(fenced) == []
    wave = normalise_canvas_spec(changed(WAVE, ("waves", 0, "color"), " #AABBCC "))
    assert wave["waves"][0]["color"] == "#aabbcc"
    # Booleans are not numbers, and stay for validation to reject.
    assert normalise_canvas_spec(changed(CHART, ("data", 0, "value"), True))["data"][0]["value"]
