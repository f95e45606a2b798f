"""Guest sandboxes (the platform's `guest_sandboxes`), the log of generated payloads and the
hand-over of a guest's work to an account (stemgraph's `stemgraph_generations`,
`stemgraph_sandbox_claims`, `stemgraph_guest_accounts`)."""

from __future__ import annotations

import uuid
from typing import Any

from tools.clock import now_iso
from tools.store.base import ClaimSummary, Sandbox
from tools.store.core import SqlCore, dumps


class GuestsData(SqlCore):
    async def upsert_sandbox(self, sandbox_id: str, owner_user_id: str, *, active: bool) -> None:
        async with self.transaction() as db:
            await db.execute(
                "INSERT INTO guest_sandboxes (id, user_id, status, guest_role)"
                " VALUES (:id, :o, :s, 'student')"
                " ON CONFLICT (id) DO UPDATE SET user_id = excluded.user_id,"
                " status = excluded.status",
                {"id": sandbox_id, "o": owner_user_id, "s": "active" if active else "expired"},
            )

    async def get_sandbox(self, sandbox_id: str) -> Sandbox | None:
        """The sandbox; active while the platform says so and no account has claimed it."""
        async with self.session() as db:
            rows = await db.query(
                "SELECT s.id, s.user_id, s.status, c.sandbox_id AS claimed FROM guest_sandboxes s"
                " LEFT JOIN stemgraph_sandbox_claims c ON c.sandbox_id = s.id WHERE s.id = :id",
                {"id": sandbox_id},
            )
        if not rows:
            return None
        row = rows[0]
        active = row["status"] == "active" and row["claimed"] is None
        return Sandbox(str(row["id"]), str(row["user_id"]), active)

    async def record_generation(
        self,
        *,
        kind: str,
        payload: dict[str, Any],
        provider: str,
        model: str,
        class_id: str | None,
        user_id: str | None,
        sandbox_id: str | None,
    ) -> str:
        generation_id = str(uuid.uuid4())
        async with self.transaction() as db:
            await db.execute(
                "INSERT INTO stemgraph_generations (id, kind, class_id, user_id, sandbox_id,"
                f" payload, provider, model, created_at) VALUES (:id, :k, :c, :u, :sb,"
                f" {self.json_param('p')}, :prov, :m, :now)",
                {
                    "id": generation_id,
                    "k": kind,
                    "c": class_id,
                    "u": user_id,
                    "sb": sandbox_id,
                    "p": dumps(payload),
                    "prov": provider,
                    "m": model,
                    "now": now_iso(),
                },
            )
        return generation_id

    async def claim_sandbox(
        self, sandbox_id: str, guest_user_id: str, user_id: str
    ) -> ClaimSummary:
        """Move the guest's own rows in a sandbox to `user_id`, in one transaction.

        What moves: the guest's chat sessions and messages, the generations the guest made
        (never rows other users tagged with the sandbox), the guest's enrollments in the
        sandbox's classes (as a student, or a teacher for a teacher account, as the platform's
        enrollment rule requires), and the sandbox's classes themselves, which leave the
        sandbox (the guest's ownership passes to the account). `user_id` may be the guest's own
        id (an anonymous user upgraded in place keeps it): then the rows stay where they are
        and only leave the sandbox. The sandbox is recorded as claimed and expires. Raises
        LookupError (and changes nothing) when the sandbox is not the guest's active sandbox or
        the account has no profile. Who may claim is decided before this is called
        (`server/access.py:claimant`).
        """
        params = {"sb": sandbox_id, "g": guest_user_id, "u": user_id, "now": now_iso()}
        async with self.transaction() as db:
            sandbox = await db.query(
                "SELECT s.id FROM guest_sandboxes s WHERE s.id = :sb AND s.user_id = :g"
                " AND s.status = 'active' AND NOT EXISTS"
                " (SELECT 1 FROM stemgraph_sandbox_claims c WHERE c.sandbox_id = s.id)",
                params,
            )
            if not sandbox:
                raise LookupError("sandbox")
            profile = await db.query("SELECT account_type FROM profiles WHERE id = :u", params)
            if not profile:
                raise LookupError("profile")
            role = "teacher" if str(profile[0]["account_type"]) == "teacher" else "student"
            sessions = await db.query(
                "UPDATE class_chat_sessions SET owner_user_id = :u, sandbox_id = NULL"
                " WHERE owner_user_id = :g AND (sandbox_id = :sb OR sandbox_id IS NULL)"
                " RETURNING id",
                params,
            )
            messages = await db.query(
                "UPDATE class_chat_messages SET author_user_id = :u WHERE author_user_id = :g"
                " RETURNING id",
                params,
            )
            generations = await db.query(
                "UPDATE stemgraph_generations SET user_id = :u, sandbox_id = NULL"
                " WHERE user_id = :g RETURNING id",
                params,
            )
            in_sandbox = "class_id IN (SELECT id FROM classes WHERE sandbox_id = :sb)"
            if user_id == guest_user_id:
                enrollments = await db.query(
                    f"SELECT class_id FROM enrollments WHERE user_id = :g AND {in_sandbox}",
                    params,
                )
            else:
                enrollments = await db.query(
                    "INSERT INTO enrollments (class_id, user_id, role) SELECT class_id, :u, :r"
                    f" FROM enrollments WHERE user_id = :g AND {in_sandbox}"
                    " ON CONFLICT (class_id, user_id) DO NOTHING RETURNING class_id",
                    {**params, "r": role},
                )
                await db.execute(
                    f"DELETE FROM enrollments WHERE user_id = :g AND {in_sandbox}", params
                )
            classes = await db.query(
                "UPDATE classes SET sandbox_id = NULL, owner_id = CASE WHEN owner_id = :g"
                " THEN :u ELSE owner_id END WHERE sandbox_id = :sb RETURNING id",
                params,
            )
            await db.execute(
                "INSERT INTO stemgraph_sandbox_claims (sandbox_id, claimed_by, claimed_at)"
                " VALUES (:sb, :u, :now)",
                params,
            )
            await db.execute("UPDATE guest_sandboxes SET status = 'expired' WHERE id = :sb", params)
            if user_id == guest_user_id:
                await db.execute(
                    "UPDATE stemgraph_guest_accounts SET upgraded_at = :now"
                    " WHERE user_id = :g AND upgraded_at IS NULL",
                    params,
                )
        return ClaimSummary(
            len(sessions), len(messages), len(generations), len(enrollments), len(classes)
        )
