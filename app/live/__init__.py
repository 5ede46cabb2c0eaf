"""The live room: the framework-free bus that carries committed changes to open pages
(`bus`), and its relay between processes through PostgreSQL LISTEN/NOTIFY
(`postgres_relay`)."""

from app.live.bus import (
    ACTIVITY_PER_FLUSH,
    FLUSH_INTERVAL,
    Activity,
    Availability,
    ChangeKind,
    LiveBatch,
    LiveBus,
    bus,
    fold,
)

__all__ = [
    "ACTIVITY_PER_FLUSH",
    "FLUSH_INTERVAL",
    "Activity",
    "Availability",
    "ChangeKind",
    "LiveBatch",
    "LiveBus",
    "bus",
    "fold",
]
