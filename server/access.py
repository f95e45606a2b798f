"""Who may do what in a class: the contract's role rules, with its error codes."""

from __future__ import annotations

from dataclasses import dataclass

from server.errors import ApiError
from tools.store.base import ChatSession, ClassRecord, ClassRole, Store


@dataclass(frozen=True, slots=True)
class Member:
    """A verified user with their role in one class."""

    user_id: str
    role: ClassRole
    klass: ClassRecord

    @property
    def is_teacher(self) -> bool:
        return self.role == "teacher"


async def class_member(store: Store, class_id: str, user_id: str) -> Member:
    """The caller's membership, or 404 `class_not_found` / 403 `class_access_required`."""
    klass = await store.get_class(class_id)
    if klass is None:
        raise ApiError(404, "class_not_found", "That class does not exist.")
    role = await store.class_role(class_id, user_id)
    if role is None:
        raise ApiError(403, "class_access_required", "You need to join this class first.")
    return Member(user_id, role, klass)


def require_teacher(member: Member) -> None:
    if not member.is_teacher:
        raise ApiError(403, "teacher_access_required", "Only the class's teachers can do this.")


async def owner_in_class(store: Store, member: Member, owner_user_id: str | None) -> str:
    """Whose sessions to show: the caller's own, or (teachers only) an enrolled student's."""
    if owner_user_id is None or owner_user_id == member.user_id:
        return member.user_id
    require_teacher(member)
    if await store.class_role(member.klass.id, owner_user_id) != "student":
        raise ApiError(
            404, "owner_user_not_enrolled", "That student is not enrolled in this class."
        )
    return owner_user_id


async def session_in_class(store: Store, member: Member, session_id: str) -> ChatSession:
    session = await store.get_session(session_id)
    if session is None or session.class_id != member.klass.id:
        raise ApiError(404, "session_not_found", "That chat session does not exist.")
    return session


def require_owner(session: ChatSession, member: Member, *, code: str) -> None:
    if session.owner_user_id != member.user_id:
        raise ApiError(403, code, "Only the person who started this chat can change it.")


async def class_teacher(store: Store, class_id: str, user_id: str) -> Member:
    """A teacher of the class, with the contract's analytics codes: 404 `class_not_found`,
    403 `profile_missing`, `forbidden_account_type` (not a teacher account) or `forbidden`."""
    klass = await store.get_class(class_id)
    if klass is None:
        raise ApiError(404, "class_not_found", "That class does not exist.")
    profile = await store.get_profile(user_id)
    if profile is None:
        raise ApiError(403, "profile_missing", "Finish setting up your profile first.")
    if profile.account_type != "teacher":
        raise ApiError(403, "forbidden_account_type", "Class analytics are for teacher accounts.")
    if await store.class_role(class_id, user_id) != "teacher":
        raise ApiError(403, "forbidden", "You do not teach this class.")
    return Member(user_id, "teacher", klass)
