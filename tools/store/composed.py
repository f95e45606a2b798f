"""The store object: every kind of data composed over one backend's connections."""

from __future__ import annotations

from tools.store.analytics import AnalyticsData
from tools.store.chat import ChatData
from tools.store.classes import ClassesData
from tools.store.guests import GuestsData
from tools.store.materials import MaterialsData


class SqlStore(ClassesData, MaterialsData, ChatData, GuestsData, AnalyticsData):
    """The platform's tables and stemgraph's own, read and written with SQL both backends
    accept; `PostgresStore` and `SqliteStore` supply the connections."""

    def __init__(self) -> None:
        ChatData.__init__(self)
        MaterialsData.__init__(self)
