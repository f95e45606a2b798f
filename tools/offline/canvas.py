"""Deterministic canvas specs read from the tutor's answer, for when no model writes one.

Every spec passes `validate_canvas_spec(spec, expected_type=hint["type"])`. Numbers come from the
question and answer; when the text has none, the spec says its values are illustrative.
"""

from __future__ import annotations

import ast
import math
import operator
import re
from collections.abc import Callable, Mapping
from typing import Any

from tools.text import normalise_text
from tools.text.sentences import material_sentences, without_instructions
from tools.text.terms import key_terms
from tools.text.words import STOPWORDS, stem, words

PALETTE = ("#2563eb", "#dc2626", "#16a34a", "#d97706", "#7c3aed", "#0891b2")
_DEFAULT_TITLES = {"chart": "Chart", "diagram": "Diagram", "wave": "Waves", "vector": "Vectors"}
_NUM = r"[-−]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?"
_UNSAFE = re.compile(r"[\[\](){}\"|`;<>#]+")


def _number(text: str) -> float:
    return float(text.replace("−", "-").replace(",", ""))


def _fmt(value: float) -> str:
    return f"{round(value, 3):g}"


def _clip(text: str, limit: int) -> str:
    """`text` on one line, cut at a word boundary to at most `limit` characters."""
    text = " ".join(text.split())
    if len(text) > limit:
        cut = text[: limit + 1].rsplit(" ", 1)[0]
        text = cut if 0 < len(cut) <= limit else text[:limit]
    return text.strip(" ,;:-")


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _fit(values: list[float], low: float, high: float) -> tuple[list[float], bool]:
    """Scale `values` together so the largest fits [low, high]; True when anything changed."""
    top = max(values)
    factor = high / top if top > high or top < low else 1.0
    fitted = [min(high, max(low, round(v * factor, 3))) for v in values]
    return fitted, any(abs(f - v) > 1e-9 for f, v in zip(fitted, values, strict=True))


# ---------------------------------------------------------------------------- charts

_CLAUSE = re.compile(r"[;\n]|[,.!?](?=\s|$)|\s(?:and|but|while|whereas|versus|vs\.?)\s", re.I)
_VALUE = re.compile(
    rf"(?<![\w.^/])(?P<n>{_NUM})(?:\s*[×x*]\s*10\s*\^\s*(?P<e>[-−]?\d+)|\^(?P<p>\d))?"
    r"(?:[ \t]*(?P<u>%|°[ \t]?[CF]?|[^\W\d_][^\s,;.]*))?"
)
_YEAR = re.compile(r"\b(?:in|by|since|during|from|until|year|around)\s+(1[5-9]\d\d|20\d\d)\b", re.I)
_APPROX = frozenset(
    ["about", "approximately", "around", "roughly", "nearly", "almost", "only", "just", "over"]
)
_LEAD_AFTER = frozenset(
    ["of", "at", "to", "with", "by", "reaches", "reached", "weighs", "has", "have"]
)


def _value(match: re.Match[str]) -> float:
    """The number, with `× 10^n` or `^n` applied; infinite when it does not fit a float."""
    value = _number(match["n"])
    try:
        if match["e"]:
            value *= 10.0 ** int(match["e"].replace("−", "-"))
        elif match["p"]:
            value **= int(match["p"])
    except OverflowError:
        return math.inf
    return value


def _unit(match: re.Match[str]) -> str:
    unit = match["u"] or ""
    if unit.casefold() in STOPWORDS or unit.casefold() in _APPROX:
        return ""
    return "%" if unit.casefold() == "percent" else unit


def _run(sequence: list[str], *, stop_at_verbs: bool = False) -> str:
    """Up to three consecutive non-stopwords, skipping stopwords before the first one."""
    found: list[str] = []
    for word in sequence:
        verb = stop_at_verbs and found and word.islower() and word.endswith(("s", "ed"))
        if word.casefold() in STOPWORDS or word.casefold() in _APPROX or verb:
            if found:
                break
            continue
        found.append(word)
        if len(found) == 3:
            break
    return " ".join(found)


def _subject(before: str, after: str, unit: str) -> str:
    """What a number belongs to: "copper" in "the density of copper is", "Copper has a …" or
    "78% nitrogen"."""
    tokens = words(before)
    behind = _run(words(after), stop_at_verbs=True)
    if unit == "%" and behind:
        return behind
    lead = _run(tokens, stop_at_verbs=True)
    trail = " ".join(_run(tokens[::-1]).split()[::-1])
    if tokens and tokens[-1].casefold() in _LEAD_AFTER:
        return lead or trail or behind
    return trail or lead or behind


def _pairs(text: str) -> list[tuple[str, str, float, str]]:
    """(kind, label, value, unit) for each clause that gives one number for one thing."""
    found = []
    for clause in _CLAUSE.split(text):
        year = _YEAR.search(clause)
        for match in _VALUE.finditer(clause):
            # With a year as the label, other years in the clause ("to 2020") are not values.
            if year and re.fullmatch(r"1[5-9]\d\d|20\d\d", match["n"]):
                continue
            unit = _unit(match)
            after = clause[match.end() :]
            label = year.group(1) if year else _subject(clause[: match.start()], after, unit)
            value = _value(match)
            if label and math.isfinite(value):
                found.append(("year" if year else "label", _capital(_clip(label, 60)), value, unit))
            break
    return found


def _data_chart(title: str, text: str) -> dict[str, Any] | None:
    """The largest set of (3+) numbers that share a unit, one per distinct label."""
    groups: dict[tuple[str, str], dict[str, tuple[str, float, str]]] = {}
    for kind, label, value, unit in _pairs(text):
        group = groups.setdefault((kind, unit.casefold()), {})
        group.setdefault(label.casefold(), (label, value, unit))
    if not groups:
        return None
    (kind, _), chosen = max(groups.items(), key=lambda item: len(item[1]))
    points = list(chosen.values())[:8]
    if len(points) < 3:
        return None
    if kind == "year":
        points.sort()
    unit = points[0][2]
    values = [value for _, value, _ in points]
    chart_type = "line" if kind == "year" else "bar"
    if unit == "%" and min(values) >= 0 and 98 <= sum(values) <= 102:
        chart_type = "pie"
    data = [{"label": label, "value": value} for label, value, _ in points]
    spec: dict[str, Any] = {"type": "chart", "chartType": chart_type, "title": title, "data": data}
    if kind == "year":
        spec["xLabel"] = "Year"
    if unit:
        spec["yLabel"] = _clip(unit, 80)
    return spec


_FORMULA = re.compile(r"(?<![\w^])([A-Za-z]{1,3})\s*=\s*(?=[A-Za-z0-9½(])")
_TOKEN = re.compile(r"[ \t]*(?:(?P<op>[-+*/×·−])|(?P<term>[A-Za-z0-9½²³^.()]+))")
_DIGITS = frozenset("0123456789.")
_VALUE_ENDS = _DIGITS | frozenset(")½²³")
_SYMBOLS = {"½": "(1/2)", "²": "**2", "³": "**3", "^": "**", "×": "*", "·": "*", "−": "-"}
_OPERATORS: dict[type[ast.AST], Callable[[float, float], float]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
}


def _formula(text: str) -> tuple[str, str] | None:
    """The first `y = expression` written in symbols, e.g. ("v", "u + at")."""
    for match in _FORMULA.finditer(text):
        parts: list[str] = []
        pos = match.end()
        while len(parts) < 40 and (token := _TOKEN.match(text, pos)):
            term = (token["term"] or "").rstrip(".")
            if bool(term) != (len(parts) % 2 == 0) or any(
                len(run) > 3 for run in re.findall(r"[A-Za-z]+", term)
            ):
                break
            parts.append(term or token["op"])
            pos = token.end()
            if token["term"] and token["term"].endswith("."):
                break
        if len(parts) >= 40:
            continue  # too long to be a formula worth sampling (and never shown cut short)
        if len(parts) % 2 == 0:
            parts = parts[:-1]
        expression = " ".join(parts)
        if re.search("[A-Za-z]", expression):
            return match.group(1), expression
    return None


def _python(expression: str) -> str:
    """Symbols to Python: implicit products, superscripts and ½ made explicit."""
    out: list[str] = []
    previous = ""
    for char in expression.replace(" ", ""):
        number = char in _DIGITS
        starts_value = char.isalpha() or char in "(½" or (number and previous not in _DIGITS)
        if starts_value and (previous.isalpha() or previous in _VALUE_ENDS):
            out.append("*")
        out.append(_SYMBOLS.get(char, char))
        previous = char
    return "".join(out)


def _evaluate(node: ast.AST, env: Mapping[str, float]) -> float:
    if isinstance(node, ast.Expression):
        return _evaluate(node.body, env)
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return float(node.value)
    if isinstance(node, ast.Name):
        return env[node.id]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        value = _evaluate(node.operand, env)
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
        left, right = _evaluate(node.left, env), _evaluate(node.right, env)
        if isinstance(node.op, ast.Pow) and abs(right) > 4:
            raise ValueError("exponent too large")
        result = _OPERATORS[type(node.op)](left, right)
        if not isinstance(result, float):  # a negative base to a fractional power is complex
            raise ValueError("not a real number")
        return result
    raise ValueError("unsupported expression")


def _formula_chart(title: str, text: str) -> dict[str, Any] | None:
    """Sample a formula from the text at four points, the other symbols fixed at 2."""
    found = _formula(text)
    if found is None:
        return None
    result, expression = found
    try:
        tree = ast.parse(_python(expression), mode="eval")
        names = list(dict.fromkeys(n.id for n in ast.walk(tree) if isinstance(n, ast.Name)))
        names.sort(key=_python(expression).rindex)  # the last symbol is the variable
        variable, fixed = names[-1], names[:-1]
        values = [
            _evaluate(tree, {**dict.fromkeys(fixed, 2.0), variable: float(x)}) for x in range(1, 5)
        ]
    except (SyntaxError, ValueError, ZeroDivisionError, OverflowError, KeyError, IndexError):
        return None
    if not all(math.isfinite(v) for v in values):
        return None
    given = ", ".join(f"{name} = 2" for name in fixed)
    y_label = f"{result} = {expression}" + (f" with {given}" if given else "")
    y_label = _clip(y_label if len(y_label) <= 65 else result, 65) + " (illustrative)"
    return {
        "type": "chart",
        "chartType": "line",
        "title": title,
        "data": [
            {"label": f"{variable} = {x}", "value": round(v, 4)} for x, v in enumerate(values, 1)
        ],
        "xLabel": variable,
        "yLabel": y_label,
    }


def _term_chart(title: str, text: str) -> dict[str, Any]:
    """How often the answer's key terms occur, or clearly marked placeholder values."""
    counts: dict[str, tuple[str, int]] = {}
    for word in words(text):
        if len(word) >= 4 and word.isalpha() and word.casefold() not in STOPWORDS:
            label, count = counts.get(stem(word), (_capital(_clip(word.casefold(), 80)), 0))
            counts[stem(word)] = (label, count + 1)
    ranked = sorted(counts.values(), key=lambda item: -item[1])[:6]
    y_label = "Times mentioned in the question and answer"
    if len(ranked) < 3:
        ranked = [("Example A", 1), ("Example B", 2), ("Example C", 3)]
        y_label = "Illustrative values only (the answer gives no data)"
    data = [{"label": label, "value": count} for label, count in ranked]
    return {"type": "chart", "chartType": "bar", "title": title, "data": data, "yLabel": y_label}


def _chart(title: str, concept: str, text: str) -> dict[str, Any]:
    return _data_chart(title, text) or _formula_chart(title, text) or _term_chart(title, text)


# ---------------------------------------------------------------------------- diagrams

_NUMBERED = re.compile(r"^[ \t]*(?:step[ \t]*)?\d{1,2}[.):][ \t]+(\S.*)$", re.I | re.M)
_ARROW = re.compile(r"\s*(?:→|->|=>|⟶|⇒)\s*")
_SEQUENCE = re.compile(
    r"\b(?:first(?:ly)?|second(?:ly)?|third(?:ly)?|then|next|after that|afterwards|"
    r"subsequently|finally|lastly)\b,?",
    re.I,
)
_SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s")
_TRAILING = re.compile(r"(?:[\s,;:.!?-]|\b(?:and|or|but|so)\b)+$", re.I)
_RELATION_VERBS = (
    r"(?:produce|make|require|use|cause|contain|convert|release|absorb|store|form|need|include|"
    r"create|transfer|increase|decrease|reduce|affect|determine|generate)s?|takes? in|"
    r"gives? off|depends? on|consists? of|breaks? down"
)
_NEGATIONS = frozenset({"not", "never", "no", "cannot"})
_GENERIC = frozenset(
    ["process", "thing", "type", "kind", "amount", "part", "way", "example", "result"]
)
_SCAFFOLD = (("is defined by", "Definition"), ("is shown by", "Examples"), ("is used in", "Uses"))


def _node_label(text: str, fallback: str) -> str:
    text = _TRAILING.sub("", _clip(_UNSAFE.sub(" ", text), 60))
    return _capital(text.strip(" ,;:.-")) or fallback


def _chain(parts: list[str]) -> list[str]:
    """Arrow-chain steps without the prose around the chain ("Energy flows sun → grass")."""
    width = max(len(part.split()) for part in parts[1:])
    first = re.split(r"[:,;]", parts[0])[-1].split()
    last = re.split(r"[,;.!?](?:\s|$)", parts[-1])[0]
    return [" ".join(first[-width:]), *parts[1:-1], last]


def _steps(text: str) -> list[str]:
    """Ordered steps: a numbered list, an arrow chain, or first/then/finally sentences."""
    numbered = _NUMBERED.findall(text)
    if len(numbered) >= 2:
        return numbered
    for line in text.splitlines():
        parts = [part for part in _ARROW.split(line) if part.strip(" .")]
        if len(parts) >= 2 and _ARROW.search(line):
            return _chain(parts)
    marks = list(_SEQUENCE.finditer(text))
    if len(marks) < 2:
        return []
    ends = [mark.start() for mark in marks[1:]] + [len(text)]
    pieces = (text[mark.end() : end] for mark, end in zip(marks, ends, strict=True))
    segments = (_SENTENCE_BREAK.split(piece)[0] for piece in pieces)
    return [segment for segment in segments if segment.strip(" ,.;")]


def _flowchart(steps: list[str]) -> str:
    labels = [_node_label(step, f"Step {n}") for n, step in enumerate(steps[:8], start=1)]
    lines = ["flowchart TD"] + [f"    S{n}[{label}]" for n, label in enumerate(labels, 1)]
    lines += [f"    S{n} --> S{n + 1}" for n in range(1, len(labels))]
    return "\n".join(lines)


def _relation(term: str, concept: set[str], sentences: list[str]) -> str:
    """The verb that links the concept to `term` in one sentence, else a neutral phrase."""
    pattern = re.compile(
        rf"\b({_RELATION_VERBS})\s+(?:(?:the|a|an|some)\s+)?(?:[\w-]+\s+){{0,2}}?"
        rf"{re.escape(term)}\b",
        re.I,
    )
    for sentence in sentences:
        match = pattern.search(sentence)
        if match is None:
            continue
        before = [w.casefold() for w in words(sentence[: match.start()])]
        negated = any(w in _NEGATIONS or w.endswith("n't") for w in before[-3:])
        if not negated and (concept & {stem(w) for w in before} or before[:1] == ["it"]):
            verb, *rest = match.group(1).casefold().split()
            return " ".join([verb if verb.endswith("s") else verb + "s", *rest])
    return "relates to"


def _concept_map(concept: str, text: str) -> str:
    centre = _node_label(concept, "Topic")
    stems = {stem(w) for w in words(concept)}
    sentences = material_sentences(text)
    terms: list[str] = []
    for term in key_terms(sentences, min_repeats=1):
        label = _node_label(term.text, "")
        if (
            label
            and not stems & {stem(w) for w in words(label)}
            and term.text.casefold() not in _GENERIC
            and label.casefold() not in {t.casefold() for t in terms}
        ):
            terms.append(label)
    lines = ["flowchart LR", f"    C0[{centre}]"]
    if terms:
        links = [(_relation(t, stems, sentences), t) for t in terms[:5]]
    else:
        links = [(relation, f"{name} of {centre}"[:60]) for relation, name in _SCAFFOLD]
    for n, (relation, label) in enumerate(links, start=1):
        lines += [f"    T{n}[{_node_label(label, f'Idea {n}')}]", f"    C0 -->|{relation}| T{n}"]
    return "\n".join(lines)


def _diagram(title: str, concept: str, text: str) -> dict[str, Any]:
    steps = _steps(text)
    if len(steps) >= 2:
        kind, definition = "flowchart", _flowchart(steps)
    else:
        kind, definition = "concept-map", _concept_map(concept or title, text)
    return {"type": "diagram", "diagramType": kind, "definition": definition, "title": title}


# ---------------------------------------------------------------------------- waves and vectors

_AMPLITUDE = re.compile(
    rf"\bamplitudes?\s*(?:of|=|:|is|was|equals?)?\s*(?:about\s+)?(?P<n>{_NUM})"
    r"(?:\s*(?P<u>m|cm|mm|nm|V|mV)\b)?",
    re.I,
)
_FREQUENCY = re.compile(
    rf"\bfrequenc(?:y|ies)\s*(?:of|=|:|is|was|equals?)?\s*(?:about\s+)?(?P<n>{_NUM})"
    r"\s*(?P<k>[kM])?(?:Hz|hertz)?",
    re.I,
)
_HERTZ = re.compile(rf"(?<![\w.])(?P<n>{_NUM})\s*(?P<k>[kM])?(?:Hz|hertz)\b")
_RELATIVE = re.compile(
    r"\b(twice|double|three times|triple|four times|half)\s+(?:the\s+|its\s+|that\s+)?"
    r"(amplitude|frequency)",
    re.I,
)
_FACTORS = {"twice": 2.0, "double": 2.0, "three times": 3.0, "triple": 3.0, "four times": 4.0}


def _wave(title: str, concept: str, text: str) -> dict[str, Any]:
    amplitudes = [(_number(m["n"]), m["u"] or "") for m in _AMPLITUDE.finditer(text)]
    amplitudes = [(a, unit) for a, unit in amplitudes if a > 0]
    found = {m.start("n"): m for m in _FREQUENCY.finditer(text)}
    found.update({m.start("n"): m for m in _HERTZ.finditer(text)})
    scale = {"k": 1e3, "M": 1e6}
    frequencies = [_number(m["n"]) * scale.get(m["k"] or "", 1.0) for _, m in sorted(found.items())]
    frequencies = [f for f in frequencies if f > 0]
    waves: list[tuple[float, float, str]] = []
    for n in range(min(3, max(len(amplitudes), len(frequencies), 1))):
        amplitude, unit = amplitudes[min(n, len(amplitudes) - 1)] if amplitudes else (1.0, "")
        frequency = frequencies[min(n, len(frequencies) - 1)] if frequencies else 1.0
        given = [f"A = {_fmt(amplitude)}{' ' + unit if unit else ''}"] if amplitudes else []
        given += [f"f = {_fmt(frequency)} Hz"] if frequencies else []
        waves.append((amplitude, frequency, ", ".join(given) or "example values"))
    if len(waves) == 1:
        for match in _RELATIVE.finditer(text):
            factor = _FACTORS.get(match[1].casefold(), 0.5)
            amplitude, frequency, _ = waves[0]
            if match[2].casefold() == "amplitude":
                amplitude *= factor
            else:
                frequency *= factor
            waves.append((amplitude, frequency, f"{match[1].casefold()} the {match[2].casefold()}"))
            if len(waves) == 3:
                break
    shown_a, scaled_a = _fit([w[0] for w in waves], 0.1, 2.0)
    shown_f, scaled_f = _fit([w[1] for w in waves], 0.1, 5.0)
    note = " (scaled to fit)" if scaled_a or scaled_f else ""
    items = [
        {
            "label": _clip(f"Wave {n + 1}: {wave[2]}{note}", 80),
            "amplitude": a,
            "frequency": f,
            "color": PALETTE[n],
        }
        for n, (wave, a, f) in enumerate(zip(waves, shown_a, shown_f, strict=True))
    ]
    return {"type": "wave", "title": title, "waves": items}


_COMPASS_POINTS = (
    ("east", 0), ("north-east northeast", 45), ("north upward upwards", 90),
    ("north-west northwest", 135), ("west", 180), ("south-west southwest", 225),
    ("south downward downwards", 270), ("south-east southeast", 315),
)  # fmt: skip
_DIRECTIONS = {name: angle for names, angle in _COMPASS_POINTS for name in names.split()}
_MAGNITUDE = rf"(?<![\w.])(?P<m>{_NUM})\s*(?:(?P<u>[A-Za-zµΩ][\w/²·]*)\s+)?"
_AT_ANGLE = re.compile(
    rf"{_MAGNITUDE}(?:[a-z]+\s+){{0,2}}?(?:at|@)\s+(?:an angle of\s+)?"
    rf"(?P<a>{_NUM})\s*(?:°|degrees?\b)",
    re.I,
)
_COMPASS = re.compile(
    rf"{_MAGNITUDE}(?:to the\s+|towards?\s+(?:the\s+)?|due\s+|pointing\s+)?"
    rf"(?P<d>{'|'.join(sorted(_DIRECTIONS, key=len, reverse=True))})\b",
    re.I,
)
_RESULTANT = re.compile(r"\b(?:resultant|net|vector sum|add(?:ing)?|combined)\b", re.I)


def _vector(title: str, concept: str, text: str) -> dict[str, Any]:
    matches = sorted([*_AT_ANGLE.finditer(text), *_COMPASS.finditer(text)], key=lambda m: m.start())
    found: list[tuple[float, float, str, str]] = []
    end = -1
    for m in matches:
        magnitude = _number(m["m"])
        if m.start() >= end and magnitude > 0 and len(found) < 5:
            angle = _number(m["a"]) if "a" in m.re.groupindex else _DIRECTIONS[m["d"].casefold()]
            found.append((magnitude, angle % 360, m["u"] or "", _clip(m.group(0), 80)))
            end = m.end()
    grid: dict[str, Any] = {"gridSize": 1}
    if not found:
        found = [
            (3.0, 0.0, "", "Example vector A (3 units at 0°)"),
            (4.0, 90.0, "", "Example vector B (4 units at 90°)"),
        ]
    elif len(found) >= 2 and len({f[2] for f in found}) == 1 and _RESULTANT.search(text):
        x = sum(m * math.cos(math.radians(a)) for m, a, _, _ in found)
        y = sum(m * math.sin(math.radians(a)) for m, a, _, _ in found)
        size, angle = math.hypot(x, y), math.degrees(math.atan2(y, x)) % 360
        label = f"Resultant ≈ {size:.3g} {found[0][2]}".rstrip() + f" at {angle:.0f}°"
        if size > 1e-6:
            found.append((size, angle, found[0][2], label))
    shown, scaled = _fit([f[0] for f in found], 0.5, 5.0)
    vectors = [
        {"label": label, "magnitude": size, "angleDeg": round(angle, 2), "color": PALETTE[n]}
        for n, (size, (_, angle, _, label)) in enumerate(zip(shown, found, strict=True))
    ]
    return {"type": "vector", "title": title, "vectors": vectors, **({} if scaled else grid)}


_BUILDERS: dict[str, Callable[[str, str, str], dict[str, Any]]] = {
    "chart": _chart,
    "diagram": _diagram,
    "wave": _wave,
    "vector": _vector,
}


def _data(text: str) -> str:
    return without_instructions(normalise_text(text)).strip()


def offline_canvas(
    hint: Mapping[str, str], *, student_question: str, ai_answer: str
) -> dict[str, Any]:
    """A valid spec of `hint["type"]` built from the answer (first) and the question."""
    kind = str(hint.get("type") or "")
    if kind not in _BUILDERS:
        raise ValueError(f"Unknown canvas type {kind!r}.")
    # The hint, the question and the answer are data: text in them that speaks to an AI is
    # neither drawn nor used as a title.
    concept, title = (_clip(_data(str(hint.get(key) or "")), 200) for key in ("concept", "title"))
    title = title or concept
    text = "\n".join(t for t in (_data(ai_answer), _data(student_question)) if t)
    return _BUILDERS[kind](title or _DEFAULT_TITLES[kind], concept, text)
