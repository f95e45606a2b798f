"""Who may do what: every access rule of the routes, with the contract's error codes.

One rule per kind of caller decides whether a request reaches a class (the table is in
ARCHITECTURE.md, "Access"):

- the **trusted backend** (the service key, no user token) reaches every existing class;
- a **signed-in member** (a user token) reaches the classes they are enrolled in, with their
  enrollment role;
- a **guest** (an anonymous token) reaches only the classes of its own verified sandbox
  (`classes.sandbox_id`), where it must be enrolled too, and never as more than a student.

The codes follow the route family: the workspace routes answer with the codes the web app maps
(`class_access_required`, `teacher_access_required`), every other route with the contract's
general role codes (`forbidden`, `forbidden_account_type`, `profile_missing`); an unknown class is
404 `class_not_found` everywhere. Authentication (the service key, user tokens, the material
worker token) happens before these, in `server/auth/` and the routes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal
from uuid import UUID

from langgraph.types import StateSnapshot

from server.auth.principal import Principal
from server.auth.tokens import TokenVerifier, UserClaims
from server.errors import ApiError
from tools.store.base import ChatSession, ClassRecord, ClassRole, MaterialRecord, Profile, Store

logger = logging.getLogger("stemgraph.access")


@dataclass(frozen=True, slots=True)
class Codes:
    """The error codes of one route family for a caller the class rule turns away."""

    outside: str  # the caller does not reach the class
    not_teacher: str  # the caller reaches it, but the route is for its teachers


# The codes the web app maps on the workspace routes, and the contract's general role codes.
WORKSPACE = Codes("class_access_required", "teacher_access_required")
GENERAL = Codes("forbidden", "forbidden")


@dataclass(frozen=True, slots=True)
class Member:
    """A verified user with their role in one class (and the codes of the route that asked)."""

    user_id: str
    role: ClassRole
    klass: ClassRecord
    codes: Codes = GENERAL

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


async def guest_sandbox(store: Store, principal: Principal, sandbox_id: UUID | None) -> str | None:
    """A guest works only inside an active sandbox of their own: returns its verified id (None
    for every other caller, who passes untouched)."""
    if not principal.is_guest or principal.user is None:
        return None
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
    return sandbox.id


def not_a_guest(principal: Principal) -> None:
    """Claiming a sandbox is for the account the guest signed up as, never the guest."""
    if principal.is_guest:
        raise ApiError(
            403, "forbidden_account_type", "Sign up first: a guest cannot claim a sandbox."
        )


async def claimant(
    verifier: TokenVerifier, principal: Principal, guest_user_id: str, guest_token: str | None
) -> None:
    """Claiming a guest's sandbox proves identity: the signed-in account is the guest itself
    (an anonymous user upgraded in place keeps its id), or it holds the guest's own valid
    anonymous token (`guest_token`, verified like any user token). Else 403 `forbidden`."""
    not_a_guest(principal)
    if signed_in(principal) == guest_user_id:
        return
    if guest_token is None:
        raise ApiError(
            403,
            "forbidden",
            "Only the guest can hand over their work: send the guest's own token as guest_token.",
        )
    try:
        guest: UserClaims = await verifier.verify(guest_token)
    except ApiError as error:
        if error.status != 401:  # the auth service itself failed: say so
            raise
        raise ApiError(403, "forbidden", "The guest_token is not a valid guest token.") from None
    if not guest.is_anonymous or guest.user_id != guest_user_id:
        raise ApiError(403, "forbidden", "The guest_token does not belong to that guest.")


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


# --- the class rule ------------------------------------------------------------------------------


async def _class(store: Store, class_id: str) -> ClassRecord:
    klass = await store.get_class(class_id)
    if klass is None:
        raise ApiError(404, "class_not_found", "That class does not exist.")
    return klass


async def _within_sandbox(
    store: Store, principal: Principal, klass: ClassRecord, sandbox_id: UUID | None, codes: Codes
) -> None:
    """A guest's fence: the class must belong to the guest's own verified sandbox."""
    sandbox = await guest_sandbox(store, principal, sandbox_id)
    if sandbox is None or klass.sandbox_id != sandbox:
        raise ApiError(
            403, codes.outside, "Guests can only use the classes of their own guest sandbox."
        )


async def _member(
    store: Store, principal: Principal, klass: ClassRecord, sandbox_id: UUID | None, codes: Codes
) -> Member:
    """The class rule for a caller with a user token (a signed-in member or a guest)."""
    user_id = signed_in(principal)
    if principal.is_guest:
        await _within_sandbox(store, principal, klass, sandbox_id, codes)
    role = await store.class_role(klass.id, user_id)
    if role is None:
        raise ApiError(403, codes.outside, "You need to join this class first.")
    # A guest tries the product as a student, whatever its enrollment says.
    return Member(user_id, "student" if principal.is_guest else role, klass, codes)


async def reach_class(
    store: Store,
    principal: Principal,
    class_id: str,
    sandbox_id: UUID | None,
    *,
    codes: Codes = GENERAL,
) -> Member | None:
    """Whether the caller reaches the class (404 `class_not_found`, 403 `codes.outside`):
    None for the trusted backend (the service key alone), else the caller as a member."""
    klass = await _class(store, class_id)
    if principal.user is None:
        return None
    return await _member(store, principal, klass, sandbox_id, codes)


async def class_member(
    store: Store,
    principal: Principal,
    class_id: str,
    sandbox_id: UUID | None,
    *,
    codes: Codes = GENERAL,
) -> Member:
    """The signed-in caller (401 `user_token_required` without a token) as a member of the
    class, by the class rule."""
    signed_in(principal)
    member = await reach_class(store, principal, class_id, sandbox_id, codes=codes)
    assert member is not None  # a caller with a user token is always a member or refused
    return member


def require_teacher(member: Member) -> None:
    if not member.is_teacher:
        raise ApiError(403, member.codes.not_teacher, "Only the class's teachers can do this.")


async def class_teacher(
    store: Store, principal: Principal, class_id: str, user_id: str, sandbox_id: UUID | None
) -> Member:
    """A teacher account teaching the class (class analytics), with the contract's codes:
    404 `class_not_found`, 403 `profile_missing`, `forbidden_account_type` or `forbidden`.

    `user_id` is the signed-in user, or with the service key alone the user the trusted backend
    names in the body; a guest is fenced into its sandbox first, like everywhere.
    """
    klass = await _class(store, class_id)
    if principal.is_guest:
        await _within_sandbox(store, principal, klass, sandbox_id, GENERAL)
    profile = await _profile(store, user_id)
    if profile.account_type != "teacher":
        raise ApiError(403, "forbidden_account_type", "Class analytics are for teacher accounts.")
    if await store.class_role(class_id, user_id) != "teacher":
        raise ApiError(403, "forbidden", "You do not teach this class.")
    return Member(user_id, "teacher", klass)


async def joinable(
    store: Store, principal: Principal, klass: ClassRecord, sandbox_id: UUID | None
) -> None:
    """Joining by code: a guest joins only a class of its own sandbox (and, like everyone who
    joins, only as a student); other callers may join any class they have the code of."""
    if principal.is_guest:
        await _within_sandbox(store, principal, klass, sandbox_id, GENERAL)


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


# --- LangGraph protocol threads (server/protocol) ------------------------------------------------

ThreadAccess = Literal["owner", "reader"]
_NO_THREAD = "That thread does not exist."


def thread_owner_access(principal: Principal, owner_user_id: str | None) -> ThreadAccess:
    """A protocol thread is its creator's: the service key alone reaches every thread, a user
    only their own (others' are 404 `thread_not_found`, so ids reveal nothing)."""
    if principal.user is None or principal.user.user_id == owner_user_id:
        return "owner"
    raise ApiError(404, "thread_not_found", _NO_THREAD)


async def session_thread_access(
    store: Store, principal: Principal, session: ChatSession
) -> ThreadAccess:
    """A workspace session as a thread: its owner reads and runs on it, the class's teachers
    only read it; anyone else gets 404 `thread_not_found`."""
    if principal.user is None or principal.user.user_id == session.owner_user_id:
        return "owner"
    teacher = not principal.is_guest and (
        await store.class_role(session.class_id, principal.user.user_id) == "teacher"
    )
    if teacher:
        return "reader"
    raise ApiError(404, "thread_not_found", _NO_THREAD)


def require_thread_owner(access: ThreadAccess) -> None:
    if access != "owner":
        raise ApiError(
            403, "thread_read_only", "A teacher can read this chat but only its owner can run it."
        )


def protocol_runner(principal: Principal) -> None:
    """Runs through the protocol are for signed-in accounts and the trusted backend: a guest's
    uses are counted by the `/v1` routes only."""
    if principal.is_guest:
        raise ApiError(
            403, "forbidden_account_type", "Guests use the tutor through the workspace chat."
        )


async def protocol_class_input(
    store: Store, principal: Principal, class_id: object, *, teacher: bool
) -> None:
    """A run whose input names a class: the class rule (404 `class_not_found`, 403 `forbidden`),
    and for teacher graphs (insights, teaching brief, data query, materials) the teacher role."""
    try:
        class_uuid = UUID(str(class_id)) if isinstance(class_id, str) else None
    except ValueError:
        class_uuid = None
    if class_uuid is None:
        raise ApiError(422, "validation_error", "input.class_id: expected a class id (a UUID).")
    member = await reach_class(store, principal, str(class_uuid), None)
    if member is not None and teacher:
        require_teacher(member)


def protocol_steering(principal: Principal, what: str) -> None:
    """Steering a run past its graph's own checks (`goto`, state updates on the teacher and
    blueprint graphs) is for the trusted backend only: a user could otherwise jump to a step
    (e.g. publishing) that the graph guards."""
    if principal.user is not None:
        raise ApiError(403, "forbidden", f"Only the trusted backend may use {what}.")
