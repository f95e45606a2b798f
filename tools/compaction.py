"""Deterministic, extractive compaction of long tutor-chat sessions.

Platform contract: compaction runs when a session has >= 30 messages and >= 6 not-yet-compacted
older messages, and either the estimated context use reaches 80% of (12,000 - 1,400) tokens or
the session has >= 60 messages. The last 12 turns (24 messages) always stay verbatim. The memory
keeps key terms, resolved facts, open questions, student needs and a timeline, and records how
far it reaches in `compactedThrough`. No model is called: the same input gives the same memory.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final, Literal, TypedDict

from tools.text import estimate_tokens, fold, normalise_text
from tools.text.clean import strip_markdown
from tools.text.quantities import find_quantities
from tools.text.sentences import split_sentences
from tools.text.terms import find_terms, key_terms
from tools.text.words import STOPWORDS, content_words, stem, words

MIN_MESSAGES: Final = 30
MIN_NEW_OLDER_MESSAGES: Final = 6
CONTEXT_WINDOW_TOKENS: Final = 12_000
RESERVED_TOKENS: Final = 1_400
PRESSURE_RATIO: Final = 0.8
THRESHOLD_TOKENS: Final = round(PRESSURE_RATIO * (CONTEXT_WINDOW_TOKENS - RESERVED_TOKENS))
FORCE_MESSAGES: Final = 60
KEEP_TURNS: Final = 12
VERBATIM_MESSAGES: Final = 2 * KEEP_TURNS  # a turn is a student/teacher message and the reply
MAX_KEY_TERMS: Final = 12
MAX_FACTS: Final = 8
MAX_OPEN_QUESTIONS: Final = 8
MAX_NEEDS: Final = 8
MAX_TIMELINE: Final = 24
MAX_ITEM_CHARS: Final = 200
# Carried items get a bonus, so an equally salient newcomer never displaces them: facts stated
# early are the foundations later answers build on, and they must survive later compactions.
TERM_CARRY: Final = 2
FACT_CARRY: Final = 2
ANSWER_BONUS: Final = 2

Role = Literal["student", "teacher", "assistant"]
Reason = Literal[
    "below_trigger", "no_new_turns", "token_pressure", "message_count_trigger",
    "low_context_pressure",
]  # fmt: skip


@dataclass(frozen=True, slots=True)
class ChatTurnMessage:
    """One stored chat message; `created_at` is ISO-8601 UTC, so it sorts as text."""

    id: str
    role: Role
    content: str
    created_at: str


class CompactedThrough(TypedDict):
    created_at: str
    message_id: str
    turn_count: int


class Memory(TypedDict):
    """The JSON-serialisable summary kept in the checkpoint (camelCase key as in the contract)."""

    key_terms: list[str]
    resolved_facts: list[str]
    open_questions: list[str]
    student_needs: list[str]
    timeline: list[str]
    compactedThrough: CompactedThrough


@dataclass(frozen=True, slots=True)
class CompactionDecision:
    """Whether to compact now, why, and which messages go into the memory or stay verbatim."""

    compact: bool
    reason: Reason
    message_count: int
    new_older_count: int
    estimated_tokens: int
    threshold_tokens: int
    to_compact: tuple[ChatTurnMessage, ...]
    verbatim: tuple[ChatTurnMessage, ...]


def _first_new(messages: Sequence[ChatTurnMessage], memory: Memory | None, by_time: bool) -> int:
    """Index of the first message after the memory's last one (by id, else by `created_at`)."""
    through = memory["compactedThrough"] if memory else None
    ids = [m.id for m in messages]
    if not through:
        return 0
    if through["message_id"] and through["message_id"] in ids:
        return len(ids) - ids[::-1].index(through["message_id"])
    if not by_time or not through["created_at"]:
        return 0
    return sum(1 for m in messages if m.created_at <= through["created_at"])


def decide(
    messages: Sequence[ChatTurnMessage], memory: Memory | None, *, pending_tokens: int = 0
) -> CompactionDecision:
    """Apply the contract to the whole history, the newly arrived message last."""
    total = len(messages)
    start = _first_new(messages, memory, by_time=True)
    tail = max(0, total - VERBATIM_MESSAGES)
    new_older = max(0, tail - start)
    pending = tuple(messages[start:])
    used = sum(map(estimate_tokens, [render_memory(memory), *(m.content for m in pending)]))
    used += pending_tokens
    reason: Reason = "low_context_pressure"
    if total < MIN_MESSAGES:
        reason = "below_trigger"
    elif new_older < MIN_NEW_OLDER_MESSAGES:
        reason = "no_new_turns"
    elif used >= THRESHOLD_TOKENS:
        reason = "token_pressure"
    elif total >= FORCE_MESSAGES:
        reason = "message_count_trigger"
    run = reason in ("token_pressure", "message_count_trigger")
    return CompactionDecision(
        run, reason, total, new_older, used, THRESHOLD_TOKENS,
        tuple(messages[start:tail]) if run else (), tuple(messages[tail:]) if run else pending,
    )  # fmt: skip


# ---------------------------------------------------------------------------- text helpers

# Words that frame a message or a question rather than name its subject.
_FILLER = frozenset(
    re.findall(
        r"\w+",
        """understand understanding confused confusing question questions answer answers thanks
        thank explain explained really something exactly actually please simple simply remember
        remind probably pretty little everything anything lesson teacher student today tomorrow
        calculate calculated define defined definition find happen happens say says give quick
        main idea start physics chemistry biology maths science class note help need get tell
        struggle problem problems object objects number amount value total kind type monday
        tuesday wednesday thursday friday saturday sunday""",
    )
)
_SKIP = STOPWORDS | _FILLER
# First and second person marks tutoring chatter ("You're right", "Let's try"), not a fact.
_PERSONAL = re.compile(r"\b(?:you|your|i|we|let|us|me|my)(?:['’]\w+)?\b", re.I)
_CLAIM = re.compile(r"\b(?:is|are|equals?|states?|means|measures?)\b", re.I)
_FORMULA = re.compile(r"(?<![\w.])[^\W\d_][\w²³]*\s*=\s*(?:[^\W\d_]|\()")
_LAW = re.compile(r"\b(?:law|principle|constant)\b", re.I)
_NEED = re.compile(
    r"\b(?:don['’]?t|do not|doesn['’]?t|can['’]?t)\s+(?:understand|get|see|follow)\b|confus"
    r"|struggl|need help|help me\b|\bexams?\b|\btests?\b|\bi (?:want|need) to\b|\bstuck\b"
    r"|\blost\b|\bdifficult|\bhard for me\b",
    re.I,
)
_TURN_NUMBER = re.compile(r"^T(\d+)(?:–T(\d+))?: ")


def _clean(text: str) -> str:
    """One line, invisible characters stripped, at most MAX_ITEM_CHARS characters."""
    line = " ".join(normalise_text(text).split())
    return line if len(line) <= MAX_ITEM_CHARS else line[: MAX_ITEM_CHARS - 1].rstrip() + "…"


def _sentences(content: str) -> list[str]:
    lines = (strip_markdown(line) for line in normalise_text(content).split("\n"))
    return [_clean(s) for line in lines if line for s in split_sentences(line)]


def _dedupe(items: Iterable[str]) -> list[str]:
    kept: dict[str, str] = {}
    for item in map(_clean, items):
        kept.setdefault(fold(item), item)
    return [item for item in kept.values() if item]


def _usable(word: str) -> bool:
    return len(word) > 2 and word.casefold() not in _SKIP and not re.search("['’]", word)


def _keywords(text: str) -> set[str]:
    """Stemmed subject words, so `balancing` meets `balanced` and `balance`."""
    return {stem(w) for w in words(text) if _usable(w)}


def _answers(question: set[str], reply: set[str]) -> bool:
    """A reply answers a question when it shares two of its keywords (all, if it has fewer)."""
    return bool(question) and len(question & reply) >= min(2, len(question))


def _mentions(text: str, term: str) -> bool:
    wanted = set(content_words(term))
    if wanted:
        return wanted <= set(content_words(text))
    return re.search(rf"(?<!\w){re.escape(fold(term))}(?!\w)", fold(text)) is not None


# ---------------------------------------------------------------------------- memory parts


def _merge_terms(previous: list[str], sentences: list[str]) -> list[str]:
    scores: dict[str, int] = {}
    forms: dict[str, str] = {}

    def add(term: str, score: int) -> None:
        tokens = fold(term).split()
        if len(term) >= 3 and len(tokens) <= 4 and not all(t in _FILLER for t in tokens):
            key = " ".join(map(stem, tokens))  # "equation" and "equations" are one term
            forms.setdefault(key, _clean(term))
            scores[key] = scores.get(key, 0) + score

    for term in previous:  # earlier terms stay while they keep recurring
        add(term, TERM_CARRY + sum(_mentions(s, term) for s in sentences))
    for found in key_terms(sentences, min_repeats=2):
        add(found.text, found.salience)
    ranked = sorted(scores, key=lambda key: -scores[key])  # stable: ties keep first-seen order
    return _dedupe(forms[key] for key in ranked)[:MAX_KEY_TERMS]


def _subject(fact: str) -> tuple[str, ...]:
    """Content words before the verb of `X is Y`; a restatement on the same subject supersedes."""
    claim = _CLAIM.search(fact)
    return tuple(content_words(fact[: claim.start()])) if claim and claim.start() <= 60 else ()


def _fact_score(sentence: str) -> int:
    """Salience of a short factual sentence from its text alone (0: not a fact).

    Quantities, units and formulas weigh most; a defined subject or a named law adds one.
    """
    if sentence.endswith("?") or len(words(sentence)) < 4 or _PERSONAL.search(sentence):
        return 0
    kinds = {span.kind for span in find_terms(sentence)}
    measured = "unit" in kinds or any(q.unit for q in find_quantities(sentence))
    formula = _FORMULA.search(sentence) is not None
    if not (measured or formula or _CLAIM.search(sentence)):
        return 0
    defines = bool(_subject(sentence)) or "term" in kinds
    return 2 * measured + 2 * formula + defines + bool(_LAW.search(sentence))


@dataclass(slots=True)
class _Fact:
    text: str
    score: int  # from the text alone, so a carried fact keeps its weight
    bonus: int  # FACT_CARRY once carried, ANSWER_BONUS if it answers the student's question


def _merge_facts(prev: Memory, batch: list[ChatTurnMessage]) -> list[str]:
    facts = [_Fact(f, _fact_score(f), FACT_CARRY) for f in _dedupe(prev["resolved_facts"])]
    asked = _keywords(" ".join(prev["open_questions"]))
    for message in batch:
        if message.role != "assistant":
            asked = _keywords(message.content)
            continue
        for sentence in _sentences(message.content):
            score = _fact_score(sentence)
            if not score or fold(sentence) in {fold(f.text) for f in facts}:
                continue
            bonus = ANSWER_BONUS if asked & _keywords(sentence) else 0
            subject = _subject(sentence)
            same = [f for f in facts if subject and _subject(f.text) == subject]
            if same and score >= same[0].score:  # superseded: take its place and weight
                same[0].text, same[0].score = sentence, score
                same[0].bonus = max(bonus, same[0].bonus)
            else:
                facts.append(_Fact(sentence, score, bonus))
    # Drop the least salient; on a tie the older fact stays (the sort is stable).
    keep = sorted(range(len(facts)), key=lambda i: -(facts[i].score + facts[i].bonus))
    return [facts[i].text for i in sorted(keep[:MAX_FACTS])]  # chronological order reads best


def _open_questions(previous: list[str], batch: list[ChatTurnMessage]) -> list[str]:
    pending = [(q, _keywords(q)) for q in _dedupe(previous)]
    for message in batch:
        if message.role == "assistant":
            reply = _keywords(message.content)
            pending = [(q, k) for q, k in pending if not _answers(k, reply)]
        elif message.role == "student":
            sentences = _sentences(message.content)
            for index, question in enumerate(sentences):
                if not question.endswith("?"):
                    continue
                context = sentences[index - 1] if index else "?"
                if len(_keywords(question)) < 2 and not context.endswith("?"):
                    question = _clean(f"{context} {question}")  # "Where do I start?" needs context
                if _keywords(question):
                    pending.append((question, _keywords(question)))
    return _dedupe(q for q, _ in pending)[-MAX_OPEN_QUESTIONS:]  # the latest matter most


def _describe(message: ChatTurnMessage, terms: list[str]) -> str:
    text = normalise_text(message.content)
    topics: list[str] = []
    # The most specific terms first: "mass number" rather than "mass" and "number".
    for term in sorted((t for t in terms if _mentions(text, t)), key=lambda t: -len(t.split())):
        if len(topics) < 2 and not any(_mentions(chosen, term) for chosen in topics):
            topics.append(term)
    topics = topics or [" ".join([w for w in words(text) if _usable(w)][:4])]
    verb = "asked about" if "?" in text else "needs help with" if _NEED.search(text) else "said"
    return f"{'teacher noted' if message.role == 'teacher' else verb} {', '.join(topics)}".strip()


def _timeline(
    previous: list[str], batch: list[ChatTurnMessage], turn: int, terms: list[str]
) -> list[str]:
    entries = [_clean(e) for e in previous]
    for message in (m for m in batch if m.role != "assistant"):
        turn += 1
        entries.append(_clean(f"T{turn}: {_describe(message, terms)}"))
    if len(entries) <= MAX_TIMELINE:
        return entries
    # Over the cap, the oldest entries fold into one "T1–T9: …; …" entry.
    cut = len(entries) - MAX_TIMELINE + 1
    turns = [n for e in entries[:cut] if (m := _TURN_NUMBER.match(e)) for n in m.groups() if n]
    span = f"T{turns[0]}–T{turns[-1]}" if turns else "Earlier"
    folded = "; ".join(_TURN_NUMBER.sub("", e) for e in entries[:cut])
    return [_clean(f"{span}: {folded}"), *entries[cut:]]


# ---------------------------------------------------------------------------- public API


def empty_memory() -> Memory:
    """A memory that covers nothing yet."""
    return Memory(
        key_terms=[], resolved_facts=[], open_questions=[], student_needs=[], timeline=[],
        compactedThrough=CompactedThrough(created_at="", message_id="", turn_count=0),
    )  # fmt: skip


def compact(previous: Memory | None, messages: Sequence[ChatTurnMessage]) -> Memory:
    """Merge `previous` with the messages it does not cover yet (normally `decide().to_compact`).

    Already covered messages are skipped by id only: a reply may share its second with the last
    compacted message, so `created_at` cannot tell them apart here.
    """
    prev = previous or empty_memory()
    batch = list(messages[_first_new(messages, previous, by_time=False) :])
    if not batch:
        return copy.deepcopy(prev)
    terms = _merge_terms(prev["key_terms"], [s for m in batch for s in _sentences(m.content)])
    needs = [s for m in batch if m.role == "student" for s in _sentences(m.content)]
    turns = prev["compactedThrough"]["turn_count"]
    return Memory(
        key_terms=terms,
        resolved_facts=_merge_facts(prev, batch),
        open_questions=_open_questions(prev["open_questions"], batch),
        student_needs=_dedupe([*prev["student_needs"], *filter(_NEED.search, needs)])[-MAX_NEEDS:],
        timeline=_timeline(prev["timeline"], batch, turns, terms),
        compactedThrough=CompactedThrough(
            created_at=batch[-1].created_at,
            message_id=batch[-1].id,
            turn_count=turns + sum(m.role != "assistant" for m in batch),
        ),
    )


def render_memory(memory: Memory | None) -> str:
    """The memory as a compact prompt block ("" when there is none)."""
    if not memory:
        return ""
    turns = memory["compactedThrough"]["turn_count"]
    lines = [
        f"Conversation memory (turns 1–{turns} summarised):" if turns else "Conversation memory:"
    ]
    if memory["key_terms"]:
        lines.append("Key terms: " + ", ".join(memory["key_terms"]))
    for title, items in (
        ("Resolved facts", memory["resolved_facts"]),
        ("Open questions", memory["open_questions"]),
        ("Student needs", memory["student_needs"]),
        ("Timeline", memory["timeline"]),
    ):
        lines.extend([f"{title}:", *(f"- {item}" for item in items)] if items else [])
    return "\n".join(lines)
