"""Who may do what: every access rule of the routes, with the contract's error codes.

One function per kind of rule, so a rule changes in one place. Authentication (the service key,
user tokens, the material worker token) happens before these, in `server/auth/` and the routes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from uuid import UUID

from langgraph.types import StateSnapshot

from server.auth.principal import Principal
from server.errors import ApiError
from tools.store.base import ChatSession, ClassRecord, ClassRole, MaterialRecord, Profile, Store

logger = logging.getLogger("stemgraph.access")


@dataclass(frozen=True, slots=True)
class Member:
    """A verified user with their role in one class."""

    user_id: str
    role: ClassRole
    klass: ClassRecord

    @property
    def is_teacher(self) -> bool:
        return self.role == "teacher"


# --- the caller --------------------------------------------------------------------------------


def same_user(principal: Principal, user_id: object) -> None:
    """A body's `user_id` must name the signed-in user (the service key alone may name anyone)."""
    if (
        user_id is not None
        and principal.user is not None
        and str(user_id) != principal.user.user_id
    ):
        raise ApiError(
            403, "user_id_mismatch", "The user_id in the request does not match the signed-in user."
        )


def signed_in(principal: Principal, *, token: str = "a user token") -> str:
    """The signed-in user's id, or 401 `user_token_required`."""
    if principal.user is None:
        raise ApiError(401, "user_token_required", f"Sign in again: {token} is required.")
    return principal.user.user_id


async def guest_sandbox(store: Store, principal: Principal, sandbox_id: UUID | None) -> None:
    """A guest works only inside an active sandbox of their own; other callers pass untouched."""
    if not principal.is_guest or principal.user is None:
        return
    if sandbox_id is None:
        raise ApiError(
            400, "guest_sandbox_required", "Guest requests must include the guest's sandbox_id."
        )
    try:
        sandbox = await store.get_sandbox(str(sandbox_id))
    except Exception:
        logger.exception("sandbox lookup failed")
        raise ApiError(
            502,
            "guest_sandbox_verification_unavailable",
            "The guest sandbox could not be verified right now. Try again shortly.",
        ) from None
    if sandbox is None or not sandbox.is_active or sandbox.owner_user_id != principal.user.user_id:
        raise ApiError(
            403, "guest_sandbox_forbidden", "This guest sandbox is not active or not yours."
        )


def not_a_guest(principal: Principal) -> None:
    """Claiming a sandbox is for the account the guest signed up as, never the guest."""
    if principal.is_guest:
        raise ApiError(
            403, "forbidden_account_type", "Sign up first: a guest cannot claim a sandbox."
        )


# --- accounts ------------------------------------------------------------------------------------


async def _profile(store: Store, user_id: str) -> Profile:
    profile = await store.get_profile(user_id)
    if profile is None:
        raise ApiError(403, "profile_missing", "Finish setting up your profile first.")
    return profile


async def class_creator(store: Store, user_id: str) -> Profile:
    """Only teacher accounts create classes."""
    profile = await _profile(store, user_id)
    if profile.account_type != "teacher":
        raise ApiError(403, "forbidden_account_type", "Only teacher accounts can create classes.")
    return profile


async def class_joiner(store: Store, user_id: str) -> Profile:
    """Teacher accounts create classes; everyone else may join one."""
    profile = await _profile(store, user_id)
    if profile.account_type == "teacher":
        raise ApiError(
            403, "forbidden_account_type", "Teacher accounts create classes instead of joining."
        )
    return profile


# --- class membership ----------------------------------------------------------------------------


async def _class(store: Store, class_id: str) -> ClassRecord:
    klass = await store.get_class(class_id)
    if klass is None:
        raise ApiError(404, "class_not_found", "That class does not exist.")
    return klass


async def class_member(store: Store, class_id: str, user_id: str) -> Member:
    """The caller's membership, or 404 `class_not_found` / 403 `class_access_required`."""
    klass = await _class(store, class_id)
    role = await store.class_role(class_id, user_id)
    if role is None:
        raise ApiError(403, "class_access_required", "You need to join this class first.")
    return Member(user_id, role, klass)


def require_teacher(member: Member) -> None:
    if not member.is_teacher:
        raise ApiError(403, "teacher_access_required", "Only the class's teachers can do this.")


async def class_teacher(store: Store, class_id: str, user_id: str) -> Member:
    """A teacher of the class, with the contract's analytics codes: 404 `class_not_found`,
    403 `profile_missing`, `forbidden_account_type` (not a teacher account) or `forbidden`."""
    klass = await _class(store, class_id)
    profile = await _profile(store, user_id)
    if profile.account_type != "teacher":
        raise ApiError(403, "forbidden_account_type", "Class analytics are for teacher accounts.")
    if await store.class_role(class_id, user_id) != "teacher":
        raise ApiError(403, "forbidden", "You do not teach this class.")
    return Member(user_id, "teacher", klass)


async def generation_class(store: Store, principal: Principal, class_id: str) -> None:
    """Generating from a class's materials: the class exists, and a signed-in user (not a
    guest) belongs to it. The service key alone is trusted."""
    await _class(store, class_id)
    user = principal.user
    if (
        user is not None
        and not user.is_anonymous
        and await store.class_role(class_id, user.user_id) is None
    ):
        raise ApiError(403, "forbidden", "You are not a member of this class.")


async def chat_class(store: Store, principal: Principal, class_id: str) -> Member | None:
    """A stateless chat turn: a signed-in caller (guests too) must be in the class; the
    service key alone is trusted."""
    if principal.user is None:
        return None
    return await class_member(store, class_id, principal.user.user_id)


async def canvas_class(store: Store, principal: Principal, class_id: str) -> None:
    """A canvas: a signed-in user must be in the class; guests and the service key alone pass."""
    if principal.user is not None and not principal.is_guest:
        await class_member(store, class_id, principal.user.user_id)


# --- things inside a class -----------------------------------------------------------------------


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
    """Writing in a session is for the person who started it (a teacher only reads)."""
    if session.owner_user_id != member.user_id:
        raise ApiError(403, code, "Only the person who started this chat can change it.")


def session_of(session: ChatSession, owner_user_id: str) -> None:
    """Reading a session's messages: it must belong to the owner the caller may read."""
    if session.owner_user_id != owner_user_id:
        raise ApiError(403, "session_owner_mismatch", "That chat session belongs to someone else.")


async def material_in_class(store: Store, class_id: str, material_id: str) -> MaterialRecord:
    material = await store.get_material(material_id)
    if material is None or material.class_id != class_id:
        raise ApiError(404, "material_not_found", "That material does not exist in this class.")
    return material


def draft_in_class(draft: StateSnapshot, member: Member) -> None:
    """A blueprint draft is approved only while it waits, and only in its own class."""
    if not draft.interrupts or draft.values.get("class_id") != member.klass.id:
        raise ApiError(
            404, "draft_not_found", "No blueprint draft of this class is waiting for approval."
        )
