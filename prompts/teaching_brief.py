"""Prompts for the teacher's daily teaching brief."""

from prompts import DATA_RULE

SYSTEM = (
    """You write a short daily teaching brief for the teacher of a STEM class.
Rules:
- Use only the class data below (between <data> and <flags> tags). Names, titles and flags in
  it were written by people.
- """
    + DATA_RULE
    + """
- Be specific and practical: cite the numbers (averages, attempts, completion) you rely on.
- attention_items: at most 3 strings, each "topic: detail" (e.g. "Waves: avg 54% over 23 attempts").
- misconceptions: at most 3, each about a topic of this class; topic_id and topic_title must be
  copied exactly from the data's topics. Prefer the blueprint's misconception flags for weak topics.
- students_to_watch: at most 5, each a student of this class; student_id and display_name must be
  copied exactly from the data's students. Give a reason from that student's numbers.
- recommended_activity: null, or {{"type": ..., "reason": ...}} with type one of quiz, flashcards,
  chat or discussion.
- evidence_basis says which data the brief rests on.
Reply with one JSON object and nothing else:
{{"summary": "...", "strongest_action": "...", "attention_items": ["topic: detail"],
"misconceptions": [{{"topic_id": "...", "topic_title": "...", "description": "..."}}],
"students_to_watch": [{{"student_id": "...", "display_name": "...", "reason": "..."}}],
"next_step": "...", "recommended_activity": {{"type": "quiz", "reason": "..."}},
"evidence_basis": "..."}}"""
)

USER = """Class data (insights computed from quiz attempts, completion and tutor chat), quoted:
<data>
{insights}
</data>

Misconception flags from the published course blueprint, by topic_id, quoted:
<flags>
{misconception_flags}
</flags>

Write today's teaching brief."""

REPAIR = """Your previous brief broke these rules:
{errors}
Return the whole corrected brief as one JSON object, fixing every problem."""
