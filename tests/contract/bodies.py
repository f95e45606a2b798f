"""The request bodies the web app's adapters send, one builder per call.

Every field of the contract's request column is present; an optional the web app has no value
for is JSON `null` (never left out), exactly as its adapters serialise it. Fields the web app
does not know (stemgraph's additions such as `class_id` on quiz) are left out.
"""

from __future__ import annotations

from typing import Any

from tools.demo import DEMO_CLASS_ID, DEMO_STUDENT_IDS, DEMO_TEACHER_ID

TEACHER = DEMO_TEACHER_ID
LENA, TOMAS = DEMO_STUDENT_IDS

MATERIAL = """Source 1 | forces.md | markdown 1
Newton's second law states that the resultant force on an object equals its mass times its
acceleration, F = m a. Force is measured in newtons. A resultant force of 12 N on a 3 kg trolley
gives it an acceleration of 4 m/s². Weight is the force of gravity on a mass, W = m g, where g is
about 9.8 N/kg on Earth.

Source 2 | energy_notes.pdf | pdf 2
Kinetic energy is the energy an object has because it is moving, KE = ½ m v². Doubling the speed
of a car makes its kinetic energy four times larger. Power is the rate at which energy is
transferred and it is measured in watts. A 60 W lamp transfers 60 J of energy every second.
"""


def llm_generate(user: str, system: str = "You are a concise physics tutor.") -> dict[str, Any]:
    return {
        "system": system,
        "user": user,
        "temperature": None,
        "max_tokens": None,
        "timeout_ms": None,
        "session_id": None,
        "transforms": None,
        "provider_order": None,
        "default_provider": None,
    }


def embeddings(inputs: list[str]) -> dict[str, Any]:
    return {
        "inputs": inputs,
        "sandbox_id": None,
        "timeout_ms": None,
        "provider_order": None,
        "default_provider": None,
    }


def blueprint(material_text: str = MATERIAL, material_count: int = 2) -> dict[str, Any]:
    return {
        "class_title": "Physics 10",
        "subject": None,
        "level": None,
        "material_count": material_count,
        "material_text": material_text,
        "sandbox_id": None,
        "timeout_ms": None,
    }


def quiz(question_count: int = 4) -> dict[str, Any]:
    return {
        "class_title": "Physics 10",
        "question_count": question_count,
        "instructions": "Focus on units.",
        "blueprint_context": "",
        "material_context": MATERIAL,
        "sandbox_id": None,
        "timeout_ms": None,
    }


def flashcards(card_count: int = 5) -> dict[str, Any]:
    return {
        "class_title": "Physics 10",
        "card_count": card_count,
        "instructions": "",
        "blueprint_context": "",
        "material_context": MATERIAL,
        "sandbox_id": None,
        "timeout_ms": None,
    }


def chat_generate(user_message: str, user_id: str = LENA) -> dict[str, Any]:
    return {
        "class_id": DEMO_CLASS_ID,
        "user_id": user_id,
        "class_title": "Physics & Chemistry 101",
        "user_message": user_message,
        "transcript": [
            {
                "role": "student",
                "message": "What does a resultant force do?",
                "created_at": "2026-11-20T09:00:00.000Z",
            },
            {
                "role": "assistant",
                "message": "It changes an object's motion: it makes it accelerate.",
                "created_at": "2026-11-20T09:00:04.000Z",
            },
        ],
        "blueprint_context": "",
        "material_context": MATERIAL,
        "compacted_memory_context": None,
        "assignment_instructions": None,
        "purpose": None,
        "session_id": None,
        "timeout_ms": None,
        "max_tokens": None,
        "tool_mode": "off",
        "tool_catalog": None,
        "orchestration_hints": None,
        "sandbox_id": None,
    }


def canvas(kind: str, concept: str, question: str, answer: str) -> dict[str, Any]:
    return {
        "class_id": DEMO_CLASS_ID,
        "canvas_hint": {"type": kind, "concept": concept, "title": concept.capitalize()},
        "student_question": question,
        "ai_answer": answer,
    }


def workspace(user_id: str, **fields: Any) -> dict[str, Any]:
    """A workspace body: the class, the user and `sandbox_id: null`, plus the call's fields."""
    return {"class_id": DEMO_CLASS_ID, "user_id": user_id, "sandbox_id": None, **fields}


def sessions_list(user_id: str, owner_user_id: str | None = None) -> dict[str, Any]:
    return workspace(user_id, owner_user_id=owner_user_id)


def sessions_create(user_id: str, title: str | None = None) -> dict[str, Any]:
    return workspace(user_id, title=title)


def messages_list(
    user_id: str,
    session_id: str,
    *,
    owner_user_id: str | None = None,
    before_cursor: str | None = None,
    limit: int | None = None,
) -> dict[str, Any]:
    return workspace(
        user_id,
        session_id=session_id,
        owner_user_id=owner_user_id,
        before_cursor=before_cursor,
        limit=limit,
    )


def messages_send(user_id: str, session_id: str, message: str) -> dict[str, Any]:
    return workspace(
        user_id,
        session_id=session_id,
        message=message,
        timeout_ms=None,
        max_tokens=None,
        tool_mode="off",
        tool_catalog=None,
        orchestration_hints=None,
    )


def analytics(force_refresh: bool | None = None) -> dict[str, Any]:
    """class-insights and class-teaching-brief: the teacher's id, no token."""
    return {
        "user_id": TEACHER,
        "class_id": DEMO_CLASS_ID,
        "force_refresh": force_refresh,
        "sandbox_id": None,
    }


def data_query(query: str) -> dict[str, Any]:
    return {"user_id": TEACHER, "class_id": DEMO_CLASS_ID, "query": query, "sandbox_id": None}


def classes_create(join_code: str, title: str = "Chemistry 11") -> dict[str, Any]:
    return {
        "user_id": TEACHER,
        "title": title,
        "subject": None,
        "level": None,
        "description": None,
        "join_code": join_code,
    }


def classes_join(user_id: str, join_code: str) -> dict[str, Any]:
    return {"user_id": user_id, "join_code": join_code}


def dispatch(material_id: str) -> dict[str, Any]:
    return {"class_id": DEMO_CLASS_ID, "material_id": material_id, "trigger_worker": True}


def process(batch_size: int | None = None) -> dict[str, Any]:
    return {"batch_size": batch_size}
