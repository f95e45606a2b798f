"""Access rules live in `server/access.py`: route modules ask it instead of deciding themselves.

The rules' behaviour (codes, statuses, who passes) is tested route by route in `routes/`; this
keeps new routes from growing their own copies of them.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROUTES = Path(__file__).resolve().parents[2] / "server" / "routes"
# What an access decision is made of (reading a request field named so is not one).
DECISION_CALLS = {"class_role", "get_profile", "get_sandbox", "get_material", "get_class"}
DECISION_READS = {"account_type", "is_anonymous", "owner_user_id", "role", "sandbox_id"}


def _decisions(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr in DECISION_CALLS:
                found.append(f"{path.name}:{node.lineno} calls {node.func.attr}")
        elif (
            isinstance(node, ast.Attribute)
            and isinstance(node.ctx, ast.Load)
            and node.attr in DECISION_READS
            and not (isinstance(node.value, ast.Name) and node.value.id in {"body", "t"})
        ):
            found.append(f"{path.name}:{node.lineno} reads {node.attr}")
    return found


def test_route_modules_make_no_access_decisions_of_their_own() -> None:
    found = [decision for path in sorted(ROUTES.glob("*.py")) for decision in _decisions(path)]
    assert found == []
