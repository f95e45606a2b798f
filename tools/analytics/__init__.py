"""Class analytics computed from the database: the numbers behind a teacher's insights."""

from tools.analytics.insights import compute_insights, risk_level, short_name, topic_status
from tools.analytics.snapshots import get_insights_snapshot, put_insights_snapshot

__all__ = [
    "compute_insights",
    "get_insights_snapshot",
    "put_insights_snapshot",
    "risk_level",
    "short_name",
    "topic_status",
]
