"""How the offline tutor reads a student's message, and the fixed replies it can give.

Three families of rules, all case-insensitive regular expressions over text that has already had
its invisible characters stripped:

- `harm_category`: requests for help with harm (weapons, hurting people, self-harm, drugs,
  hacking, sexual content, crime, cheating on a test in progress). Each rule pairs an *intent*
  ("make", "how do I", "I want to") with a harmful *object* ("a bomb", "someone"), so that
  ordinary STEM questions about explosions, radioactivity or viruses do not match.
- `is_injection`: a student message trying to change the tutor's rules or role, or to extract
  its prompt.
- `is_instruction_like`: the same, plus claims of authority and text addressed to an AI that
  dictates its output. This is applied to *material* sentences, which are data: a sentence that
  matches is never quoted.

The last two live in `tools.text.injection`, the one detector every generator uses; they are
re-exported here for the tutor.

`is_greeting` and `is_study_request` recognise small talk and study-skills questions, which are
answered even though they share no words with the class materials. `query_words`,
`is_follow_up` and `memory_words` say what a question is about, and the `*_answer` helpers write
refusals and other replies that quote nothing, naming the class topics from `class_topics`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final

from tools.text import fold
from tools.text.clean import strip_markdown
from tools.text.injection import detection_view, is_injection, is_instruction_like
from tools.text.words import content_words, words

_FLAGS: Final = re.IGNORECASE | re.MULTILINE


def _wordset(text: str) -> frozenset[str]:
    return frozenset(text.split())


def _any(*patterns: str) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns), _FLAGS)


def _near(first: str, second: str, gap: int) -> str:
    """`first`, then at most `gap` words, then `second` (both whole words)."""
    return rf"\b(?:{first})\b(?:\W+[\w'’]+){{0,{gap}}}?\W+(?:{second})\b"


# --------------------------------------------------------------------------------- harm rules

_MAKE = (
    r"make|making|build|building|construct|assemble|synthesi[sz]e|synthesi[sz]ing|manufacture|"
    r"cook|brew|create|creating|craft|3d[- ]?print|home-?made|diy|recipe|blueprints?|detonate"
)
_WEAPON = (
    r"bombs?|pipe ?bombs?|explosives?|grenades?|molotov(?: cocktails?)?|napalm|thermite|guns?|"
    r"firearms?|rifles?|pistols?|silencers?|weapons?|nerve (?:agents?|gas)|sarin|ricin|anthrax|"
    r"bio-?weapons?|poison(?:ous)? gas|toxic gas|mustard gas|detonators?|tnt|c-?4|"
    r"nitroglycerine?|ieds?|improvised explosive"
)
_INTENT = (
    r"how (?:do|can|could|would|should|to|might|will) (?:i |we |you |u |one |someone )?|"
    r"i (?:want|wanna|need|plan|intend|am going|'m going|’m going) to |help me |"
    r"(?:best|easiest|quickest|fastest|safest) way to |ways to |tell me how to |gonna |"
    r"going to |teach me (?:how )?to "
)
_HURT = (
    r"kill|murder|hurt|harm|injure|stab|shoot|poison|attack|beat up|strangle|choke|kidnap|"
    r"torture|assault|punch|burn|drown|suffocate"
)
_VICTIM = (
    r"someone|somebody|anyone|a person|people|him|her|them|"
    r"(?:my|a|the|our|his|her|their) (?:\w+ )?(?:teacher|brother|sister|mum|mom|dad|father|"
    r"mother|friend|classmate|neighbou?r|boss|parents?|family|ex|girlfriend|boyfriend|wife|"
    r"husband|kid|child|student|cat|dog|pet)"
)
_DRUG = (
    r"meth|methamphetamine|crystal meth|cocaine|crack|heroin|fentanyl|lsd|mdma|ecstasy|ghb|dmt|"
    r"ketamine|opium|weed|cannabis|marijuana|illegal drugs|drugs"
)
_HACK_TARGET = (
    r"account|phone|computer|wi-?fi|email|instagram|snapchat|tiktok|facebook|school|network|"
    r"password|server|system|website|laptop|grades?|webcam"
)
_EXAM = r"test|exam|quiz|assessment|final|midterm|mock|paper"

_HARM_RULES: Final[tuple[tuple[str, re.Pattern[str]], ...]] = (
    (
        "self_harm",
        _any(
            r"\b(?:kill|killing|hurt|hurting|cut|cutting|harm|harming|starve|starving)\s+myself\b",
            r"(?<!cell )(?<!cellular )\bsuicid",
            r"\bself[- ]?harm",
            r"\bend(?:ing)? (?:my|it) (?:life|all)\b",
            r"\btake my (?:own )?life\b",
            r"\b(?:want|wanna|going) (?:to )?die\b",
            r"\bdon'?t want to (?:live|be alive)\b",
            r"\boverdose\b",
        ),
    ),
    (
        "weapons",
        _any(
            _near(_MAKE, _WEAPON, 5),
            r"\bhow\b[^.?!]{0,40}\b(?:" + _WEAPON + r")\s+(?:is|are|was|were|gets?)?\s*"
            r"(?:made|built|assembled|synthesi[sz]ed)\b",
            r"\b(?:" + _WEAPON + r")\s+(?:recipe|instructions|blueprints?|tutorial)\b",
        ),
    ),
    (
        "violence",
        _any(
            rf"(?:{_INTENT})(?:[\w'’]+\s+){{0,2}}?(?:{_HURT})\b(?:\W+[\w'’]+){{0,3}}?\W+"
            rf"(?:{_VICTIM})\b",
            r"\b(?:untraceable|undetectable) poison",
            r"\bwithout (?:getting caught|leaving (?:a )?(?:trace|evidence)|"
            r"anyone (?:knowing|noticing))",
            _near(r"poison(?:ing)?", _VICTIM, 1),
        ),
    ),
    (
        "drugs",
        _any(
            _near(
                r"make|making|cook|cooking|synthesi[sz]e|synthesi[sz]ing|manufacture|grow|growing|"
                r"extract|brew|buy|sell|smuggle",
                _DRUG,
                3,
            ),
            r"\bget (?:stoned|drunk)\b|\bget high\b(?!\s+(?:marks?|grades?|scores?|results?|on|in|"
            r"enough|up)\b)",
        ),
    ),
    (
        "hacking",
        _any(
            _near(r"hack|hacking|break into|breaking into", _HACK_TARGET, 4),
            r"\bhack(?:ing)? into\b",
            r"\bsteal(?:ing)?\b(?:\W+[\w'’]+){0,3}?\W+(?:passwords?|accounts?|identity|"
            r"credit cards?|data|logins?)\b",
            r"\b(?:write|code|create|make|build|program|spread|send)\s+(?:a |an |my own |some )?"
            r"(?:computer )?(?:virus|malware|ransomware|keylogger|trojan|worm|spyware|"
            r"phishing)\b",
            r"\b(?:ddos|keylogger|phishing (?:email|page|site|link))",
        ),
    ),
    (
        "sexual",
        _any(
            r"\bporn",
            r"\bnudes?\b",
            r"\bnaked (?:pic|photo|picture|selfie|video)s?\b",
            r"\berotic",
            r"\bnsfw\b",
            r"\bsext(?:ing)?\b",
            r"\bsexy\b",
            r"\bhorny\b",
            r"\b(?:have|having|had) sex\b",
            r"\bsex (?:with|story|stories|scene|chat|positions?)\b",
            r"\bsexual (?:story|stories|fantas\w+|role-?play|content|positions?|acts?)\b",
            r"\bhook ?up with\b",
        ),
    ),
    (
        "cheating",
        _any(
            rf"\bcheat(?:ing)?\b(?:\W+\w+){{0,3}}?\W+(?:on|in|at|during)\s+(?:my|the|a|an|this|"
            rf"our|tomorrow'?s|today'?s)\s+(?:\w+\s+)?(?:{_EXAM}|homework)\b",
            r"\bhelp me cheat\b",
            rf"\b(?:do|take|sit|write|finish|complete) my (?:\w+ )?(?:{_EXAM}) for me\b",
            rf"\b(?:i'?m|i am|currently|we'?re|we are) (?:in|taking|doing|sitting|writing) "
            rf"(?:an?|my|the|our) (?:\w+ )?(?:{_EXAM})\b[^.]{{0,40}}\b(?:now|right now|atm)\b",
            rf"\banswers? (?:to|for|of) (?:my|the|this|our) (?:\w+ )?(?:{_EXAM})\b[^.]{{0,30}}"
            rf"\b(?:now|quick(?:ly)?|fast|hurry|asap|before (?:the )?time|timer|during)\b",
            r"\bwithout (?:the |my )?(?:teacher|invigilator|proctor)s? (?:knowing|noticing|"
            r"seeing)\b",
        ),
    ),
    (
        "crime",
        _any(
            rf"(?:{_INTENT})(?:shoplift|steal|rob|break into|pick a lock|hotwire|forge|"
            rf"counterfeit|vandali[sz]e|set fire to)\b",
            r"\b(?:make|get|buy) (?:a )?fake (?:id|passport|money|note)s?\b",
        ),
    ),
)


def harm_category(message: str) -> str | None:
    """The first harm rule the message breaks (`"weapons"`, `"self_harm"`, ...) or None."""
    text = detection_view(message)  # full-width or look-alike letters hide nothing
    for category, pattern in _HARM_RULES:
        if pattern.search(text):
            return category
    return None


# ------------------------------------------------------------------------ greetings and study

_GREETING_CORE: Final = _wordset(
    "hi hello hey hiya howdy yo morning afternoon evening thanks thank thankyou thx ty cheers "
    "bye goodbye goodnight greetings sup"
)
_GREETING_FILLER: Final = _wordset(
    "good you so much very lot a there tutor again for the help it that ok okay cool great "
    "awesome nice see later all everyone sir miss mate friend lovely perfect oh"
)
_THANKS: Final = _wordset("thanks thank thankyou thx ty cheers")
_WORDS: Final = re.compile(r"[a-z]+")


def _greeting_words(message: str) -> list[str]:
    return _WORDS.findall(message.casefold().replace("'", "").replace("’", ""))


def is_greeting(message: str) -> bool:
    """Small talk only: "hi", "thanks!", "good morning tutor" (no question attached)."""
    found = _greeting_words(message)
    return (
        0 < len(found) <= 6
        and any(w in _GREETING_CORE for w in found)
        and all(w in _GREETING_CORE or w in _GREETING_FILLER for w in found)
    )


def is_thanks(message: str) -> bool:
    """A greeting that thanks the tutor."""
    return is_greeting(message) and any(w in _THANKS for w in _greeting_words(message))


_STUDY: Final = _any(
    r"\b(?:revise|revising|revision|study|studying|prepare|preparing|prep|memori[sz]e|"
    r"memori[sz]ing|flash ?cards?|past papers?|mind ?maps?|cram|cramming)\b",
    r"\b(?:exam|test|study|revision) (?:tips|technique|techniques|strategy|strategies|plan)\b",
    r"\bhow (?:do|can|should) i (?:remember|learn|get better at|improve)\b",
    r"\bpractice questions\b",
)


def is_study_request(message: str) -> bool:
    """A study-skills question such as "how should I revise for the forces test?"."""
    return _STUDY.search(message) is not None


# --------------------------------------------------------------------------- what is asked

# Words that steer a request ("explain", "tell me") rather than name what it is about.
_STEERING: Final = frozenset(
    content_words(
        "explain explanation tell describe description define definition meaning question "
        "questions please help understand know give show again simple simply word words happen "
        "happens happened answer briefly detail details really actually exactly basically okay "
        "thanks hello class lesson material materials source sources topic topics "
        "want need get got say says said talk learn learning stuff kind sort student tutor "
        "asked ask asking conversation summary discussed talked wondering wonder confused "
        "revise revising revision study studying test exam quiz remember"
    )
)
_MEMORY_NOISE: Final = frozenset(
    content_words("memory turns summarised resolved facts open questions needs timeline key terms")
)
# Everyday words that do not make a message about the class even when the material uses them.
GENERIC_WORDS: Final = frozenset(
    content_words(
        "good best better great new time times day days year years people person thing lot "
        "first last today tomorrow yesterday favourite favorite right left big small little "
        "world life home school friend friends tonight weekend fun nice cool"
    )
)
_FOLLOW_UP: Final = re.compile(
    r"^\s*(?:why|how|how so|how come|really|and|so|what about (?:it|that|this|them)|"
    r"(?:can|could) you (?:explain|say|go over|repeat|rephrase)|(?:say|explain) (?:it|that)|"
    r"i (?:still )?(?:don'?t|do not) (?:get|understand)|(?:tell me )?more|go on|"
    r"(?:give (?:me )?)?an? example|what does (?:that|it|this) mean)\b",
    re.IGNORECASE,
)
_BACK_REFERENCE: Final = frozenset(("it", "that", "this", "they", "them", "those", "these", "its"))


def query_words(text: str) -> list[str]:
    """Distinct stemmed content words of a message, without words that only steer it.

    `content_words` reads the message with the one query tokenizer, as search does.
    """
    return [w for w in dict.fromkeys(content_words(text)) if w not in _STEERING]


def is_follow_up(text: str, asked: Sequence[str]) -> bool:
    """Whether a question leans on the conversation so far: it names nothing ("why?", "can you
    explain that again?") or it refers back with a pronoun ("why does it slow down?")."""
    if not asked:
        return True
    found = [w.casefold() for w in words(text)]
    return (
        bool(_FOLLOW_UP.match(text))
        and len(found) <= 8
        and bool(_BACK_REFERENCE.intersection(found))
    )


def memory_words(memory: str, limit: int = 15) -> list[str]:
    """What a conversation summary is about: its `Key terms:` line, then its latest lines."""
    lines = [line for line in memory.splitlines() if line.strip()]
    terms = [line.split(":", 1)[1] for line in lines if line.casefold().startswith("key terms:")]
    recent = " ".join(terms + lines[::-1][:3])
    return [w for w in query_words(recent) if w not in _MEMORY_NOISE][:limit]


# ---------------------------------------------------------------------------- canned replies


_NUMBERED_TOPIC: Final = re.compile(r"^\s*\d{1,3}[.)]\s+(?P<t>[^\[\]]+?)\s*(?:\[[^\]]*\])?\s*$")
_TOPIC_LIST: Final = re.compile(r"^\s*(?:topics?|units?|syllabus)\s*:\s*(?P<t>.+)$", re.IGNORECASE)
_BULLET_TOPIC: Final = re.compile(r"^\s*[-*+•]\s+(?P<t>[^.!?:;]+)$")


def blueprint_topics(blueprint: str) -> list[str]:
    """Topic titles in a blueprint text: numbered lines (`1. Forces [key]`), a `Topics: a, b`
    line, or short bullet lines. Objectives, summaries and other prose are skipped."""
    found: list[str] = []
    for line in blueprint.splitlines():
        listed = _TOPIC_LIST.match(line)
        if listed:
            found += [item.strip() for item in listed.group("t").split(",")]
            continue
        m = _NUMBERED_TOPIC.match(line) or _BULLET_TOPIC.match(line)
        if m and len(m.group("t").split()) <= 6:
            found.append(m.group("t"))
    return found


def class_topics(
    titles: Sequence[str], blueprint: str = "", class_title: str = "", limit: int = 3
) -> list[str]:
    """Topics a reply can offer: the blueprint's topics when it names at least two, otherwise
    distinct material titles first; the class title is the last resort.

    Titles that read as instructions, and over-long ones, are skipped.
    """
    planned = blueprint_topics(blueprint)
    candidates = [*planned, *titles] if len(planned) >= 2 else [*titles, *planned]
    topics: dict[str, str] = {}
    for candidate in candidates:
        title = " ".join(strip_markdown(candidate).split()).strip(" .:;-")
        if title and len(title.split()) <= 9 and not is_instruction_like(title):
            topics.setdefault(fold(title), title)
        if len(topics) >= limit:
            break
    if not topics and class_title.strip():
        topics[fold(class_title)] = " ".join(class_title.split())
    return list(topics.values())


def topic_phrase(topics: Sequence[str]) -> str:
    """`**A**, **B** or **C**` (Markdown bold), or a generic phrase when there are none."""
    named = [f"**{t}**" for t in topics]
    if not named:
        return "the topics in your class materials"
    return named[0] if len(named) == 1 else ", ".join(named[:-1]) + " or " + named[-1]


def refusal_answer(kind: str, category: str | None, topics: str) -> str:
    """A short, kind refusal for `kind` ("unsafe", "injection", "off_topic") naming `topics`."""
    if category == "self_harm":
        return (
            "I'm really sorry you're feeling this way, and I can't help with that, but you "
            "don't have to deal with it alone. Please talk to someone you trust right now, such "
            "as a parent, a teacher or your school counsellor, or call your local emergency "
            f"number or a crisis line. Whenever you're ready, I'm also here to help with {topics}."
        )
    if category == "cheating":
        return (
            "I can't help with answers to a test you're taking: that wouldn't be fair to you or "
            f"your classmates. Afterwards I'd be glad to go over {topics} with you."
        )
    if kind == "unsafe":
        return (
            "I can't help with that. I'm here to help you learn from your class materials, and "
            f"I'd be glad to help with {topics}. What would you like to know?"
        )
    if kind == "injection":
        return (
            "I can't change how I work or share my instructions, but I'm happy to help with "
            f"your class, for example {topics}. What would you like to know?"
        )
    return (
        "That's outside what your class materials cover, so I can't help with it here. "
        f"I can help with {topics}. What would you like to know?"
    )


def small_talk_answer(message: str, topics: str) -> str:
    """A friendly reply to a greeting or a thank-you that invites a question."""
    if is_thanks(message):
        return f"You're welcome! If anything else comes up about {topics}, just ask."
    return (
        f"Hi! I'm your tutor for this class. Ask me anything about {topics} and I'll answer "
        "from your class materials."
    )


def study_answer(topics: str) -> str:
    """General revision advice for a study-skills question."""
    return (
        f"Good idea to plan your revision! Work through {topics} one at a time: note the key "
        "terms and definitions from your class materials, then cover your notes and test "
        "yourself. Ask me about any of these and I'll explain it from your materials."
    )


def not_covered_answer(topics: str, *, vague: bool = False) -> str:
    """The reply when the materials say nothing about the question (or it names nothing)."""
    if vague:
        return f"Could you tell me a bit more about what you'd like to know about {topics}?"
    return (
        "I couldn't find that in your class materials, so I'd rather not guess. It would be a "
        f"good question for your teacher, or ask me about {topics}."
    )


__all__ = [
    "GENERIC_WORDS",
    "blueprint_topics",
    "class_topics",
    "harm_category",
    "is_follow_up",
    "is_greeting",
    "is_injection",
    "is_instruction_like",
    "is_study_request",
    "is_thanks",
    "memory_words",
    "not_covered_answer",
    "query_words",
    "refusal_answer",
    "small_talk_answer",
    "study_answer",
    "topic_phrase",
]
