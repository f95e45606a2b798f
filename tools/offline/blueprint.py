"""The offline course-blueprint engine: a deterministic v2 blueprint built from the material alone.

Topics come from the material's structure (`tools.offline.blueprint_topics`). Each topic's
objectives restate its own sentences at a Bloom level chosen from the sentence's kind: a
definition is remembered or understood, a formula or a stated number is applied, a comparison or
a cause is analysed. Prerequisites only ever point back to an earlier topic that shares key
terms, so they always form a DAG.
"""

from __future__ import annotations

from typing import Any, Final, NamedTuple

from tools.offline.blueprint_objectives import (
    Focus,
    address_misconception,
    assessment_ideas,
    clip,
    misconception_flags,
    name_in_sentence,
    objectives_for,
)
from tools.offline.blueprint_topics import Section, topic_sections, unique_keys
from tools.payloads.blueprint import SCHEMA_VERSION
from tools.text.sources import split_sources
from tools.text.terms import KeyTerm, key_terms
from tools.text.words import content_words

THIN_SENTENCES: Final = 3
"""A topic resting on fewer sentences than this has thin evidence."""
MIN_SHARED_TERMS: Final = 2
STRONG_SALIENCE: Final = 3


def _strong(term: KeyTerm) -> bool:
    """A name, formula or defined term, or a plain word the topic repeats at least three times."""
    return term.kind != "term" or term.salience >= STRONG_SALIENCE or " " in term.text


class _Terms(NamedTuple):
    """A topic's stems: its key terms (title, strong terms, lead sentence), title and full text."""

    key: set[str]
    title: set[str]
    text: set[str]


def _terms(section: Section, vocabulary: list[str]) -> _Terms:
    lead = section.sentences[0] if section.sentences else ""
    title = set(content_words(section.title))
    key = title | set(content_words(" ".join([*vocabulary, lead])))
    return _Terms(key, title, key | set(content_words(" ".join(section.sentences))))


def _topic(section: Section, key: str, sequence: int, vocabulary: list[str]) -> dict[str, Any]:
    context = " ".join(section.sentences)
    focus = Focus(section.title, name_in_sentence(section.title, context), context)
    objectives = objectives_for(section, vocabulary, focus)
    flags = misconception_flags(section)
    if flags:
        address_misconception(objectives, flags[0])
    lead = next(iter(section.sentences), section.title)
    description = clip(lead, 240)
    if len(section.headings) > 1:
        description += f" Covers: {'; '.join(section.headings)}."
    if section.parents:
        description += f" Part of {'; '.join(section.parents)}."
    evidence = []
    part = "; ".join(section.headings) or focus.name
    terms = [t for t in vocabulary if t.casefold() not in part.casefold()][:3]
    including = f", including {', '.join(terms)}" if terms else ""
    for label, source in zip(section.labels, section.source_titles, strict=True):
        where = f"{label} ({source})" if source else label
        evidence.append({"sourceLabel": label, "rationale": f"{where} covers {part}{including}."})
    return {
        "key": key,
        "title": section.title,
        "description": description,
        "section": section.headings[0] if section.headings else section.source_titles[0] or None,
        "sequence": sequence,
        "prerequisites": [],
        "objectives": objectives,
        "assessmentIdeas": assessment_ideas(focus, objectives, flags),
        "misconceptionFlags": flags,
        "evidence": evidence,
    }


def _link(topics: list[dict[str, Any]], terms: list[_Terms]) -> None:
    """Give each topic the earlier topic whose text shares most of its key terms.

    Two shared stems make a link, or one that is in either topic's title; the nearest earlier
    topic wins a tie. Links only point backwards, so the prerequisites always form a DAG.
    """
    for i in range(1, len(topics)):
        best: tuple[int, int] | None = None
        for j in range(i):
            shared = terms[i].key & terms[j].text
            strong = shared & (terms[i].title | terms[j].title)
            if len(shared) >= MIN_SHARED_TERMS or strong:
                score = (len(shared) + len(strong), j)
                best = score if best is None or score > best else best
        if best is not None:
            topics[i]["prerequisites"] = [topics[best[1]]["key"]]


def _rubric(sections: list[Section], thin: list[str], headed: bool) -> dict[str, Any]:
    total = sum(len(s.sentences) for s in sections)
    sparse = total < 2 * THIN_SENTENCES
    notes = ["Built offline from the material's structure; objectives restate its sentences."]
    if thin:
        notes.append(f"Thin evidence (fewer than {THIN_SENTENCES} sentences): {', '.join(thin)}.")
    if not headed:
        notes.append("The material has no headings, so topics were cut from paragraphs.")
    coverage = "low" if sparse else "medium" if thin or len(sections) < 3 else "high"
    return {
        "coverageCompleteness": coverage,
        "logicalProgression": "low" if len(sections) < 2 else "medium",
        "evidenceGrounding": "low" if sparse else "medium" if thin else "high",
        "notes": notes,
    }


def _empty_blueprint(class_title: str) -> dict[str, Any]:
    title = f"Introduction to {class_title or 'the course'}"
    return {
        "schemaVersion": SCHEMA_VERSION,
        "summary": f"A placeholder outline for {class_title or 'the course'}: no material text.",
        "assumptions": [],
        "uncertaintyNotes": ["The material held no text, so no topic is grounded in it."],
        "qualityRubric": {
            "coverageCompleteness": "low",
            "logicalProgression": "low",
            "evidenceGrounding": "low",
            "notes": ["No material to build from."],
        },
        "topics": [
            {
                "key": "introduction",
                "title": title,
                "description": None,
                "section": None,
                "sequence": 1,
                "prerequisites": [],
                "objectives": [
                    {
                        "statement": f"Describe the aims of {title.lower()}.",
                        "level": None,
                        "evidence": [],
                    }
                ],
                "assessmentIdeas": ["Discuss what students already know about the subject."],
                "misconceptionFlags": [],
                "evidence": [],
            }
        ],
    }


def offline_blueprint(
    material_text: str,
    *,
    class_title: str,
    subject: str | None,
    level: str | None,
    material_count: int,
) -> dict[str, Any]:
    """A schema-v2 blueprint of `material_text` that passes `validate_blueprint`."""
    sections = topic_sections(material_text, class_title=class_title)
    if not sections:
        return _empty_blueprint(class_title)
    keys = unique_keys([s.title for s in sections])
    vocabularies = [
        [t.text for t in key_terms(s.sentences) if t.kind != "unit" and _strong(t)][:8]
        for s in sections
    ]
    topics = [
        _topic(section, key, number, vocabulary)
        for number, (section, key, vocabulary) in enumerate(
            zip(sections, keys, vocabularies, strict=True), start=1
        )
    ]
    _link(topics, [_terms(s, v) for s, v in zip(sections, vocabularies, strict=True)])
    thin = [
        t["key"] for t, s in zip(topics, sections, strict=True) if len(s.sentences) < THIN_SENTENCES
    ]
    blocks = split_sources(material_text)
    labels = list(dict.fromkeys(b.label for b in blocks))
    scope = " ".join(part for part in (level, subject) if part)
    summary = (
        f"{class_title or 'This course'}{f' ({scope})' if scope else ''}: {len(topics)} topics "
        f"from {len(labels)} source{'s' if len(labels) != 1 else ''}, in reading order — "
        + "; ".join(t["title"] for t in topics)
        + "."
    )
    assumptions = [
        f"Students are working at {level} level."
        if level
        else "No level was given; objectives assume no study beyond the material.",
        "Topics are taught in the order the material presents them.",
    ]
    notes = [
        "Generated offline without a language model: objectives, levels and prerequisites are "
        "inferred from headings, key terms and sentence patterns, so a teacher should review them."
    ]
    if material_count > len(labels) and any(b.title for b in blocks):
        notes.append(
            f"{material_count} materials were expected but only {len(labels)} are labelled."
        )
    if thin:
        notes.append(f"Some topics rest on little material: {', '.join(thin)}.")
    headed = any(s.headings for s in sections)
    return {
        "schemaVersion": SCHEMA_VERSION,
        "summary": clip(summary, 600),
        "assumptions": assumptions,
        "uncertaintyNotes": notes,
        "qualityRubric": _rubric(sections, thin, headed),
        "topics": topics,
    }
