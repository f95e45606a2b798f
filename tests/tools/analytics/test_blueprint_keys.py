"""The published blueprint seen by analytics names its topics by the `topics` rows' ids, the
same ids the insights' topics carry."""

from __future__ import annotations

from tests.tools.analytics.classes import make_class
from tools.analytics import compute_insights
from tools.analytics.blueprint import keyed_by_row, published_blueprint
from tools.store.base import Store


def test_topics_match_their_rows_by_sequence_and_title_then_either() -> None:
    content = {
        "summary": "s",
        "topics": [
            {"key": "a", "title": "Forces", "sequence": 1, "prerequisites": []},
            {"key": "b", "title": "Energy", "sequence": 2, "prerequisites": ["a"]},
            {"key": "c", "title": "Waves", "sequence": 3, "prerequisites": ["b", "gone"]},
            {"key": "d", "title": "Orphan", "sequence": 9},
        ],
    }
    rows = [
        {"id": "row-2", "title": "Energy", "sequence": 5},  # moved: matched by title
        {"id": "row-1", "title": "Forces", "sequence": 1},
        {"id": "row-3", "title": "Waves and sound", "sequence": 3},  # renamed: by sequence
    ]
    keyed = keyed_by_row(content, rows)
    assert [(t["key"], t.get("prerequisites")) for t in keyed["topics"]] == [
        ("row-1", []),
        ("row-2", ["row-1"]),
        ("row-3", ["row-2", "gone"]),
        ("d", []),  # no row: keeps its key
    ]
    assert keyed["summary"] == "s" and content["topics"][0]["key"] == "a"  # not mutated


async def test_the_published_blueprint_names_topics_as_the_insights_do(store: Store) -> None:
    klass = await make_class(store, ["Ana Lima"], topics=["forces", "energy"])
    quiz = await klass.quiz("Quiz", topic="energy")
    await klass.attempt(klass.students[0], quiz, 40)
    blueprint = await published_blueprint(store, klass.id)
    assert blueprint is not None
    assert [t["key"] for t in blueprint["topics"]] == [
        klass.topics["forces"],
        klass.topics["energy"],
    ]
    insights = await compute_insights(store, klass.id)
    assert [t["topic_id"] for t in insights["topics"]] == [klass.topics["energy"]]
    assert await published_blueprint(store, (await make_class(store, [])).id) is None
