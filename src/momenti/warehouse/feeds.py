"""Feeds: what an insight keeps in the warehouse beyond the replica's tables (pre-shaped facts, text results),
brought up to date by every sync.

The warehouse knows no insight: an insight registers its feed here (`register`, at import of its facts module;
`momenti.insights.registry` imports them all), and `sync` calls every registered feed, in `order`, after the
replica's own tables are current. A feed is idempotent: it looks at its own watermark and does what is missing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa

    from momenti.store.raw import RawConnection
    from momenti.warehouse.connection import WarehouseConnection


@dataclass(frozen=True)
class FeedContext:
    """What a feed may read: the open warehouse, the store, and the touchpoints just synced."""

    wh: WarehouseConnection
    store: RawConnection
    touchpoints: pa.Table


@dataclass(frozen=True)
class Feed:
    name: str  # also the key of its count in the sync report, when `counts` is true
    refresh: Callable[[FeedContext], int | bool | None]
    order: int = 100  # lower first
    counts: bool = False  # the refresh returns the number of rows it added, reported by the sync


_FEEDS: dict[str, Feed] = {}


def register(feed: Feed) -> Feed:
    """Register (or replace, by name) a feed; returns it."""
    _FEEDS[feed.name] = feed
    return feed


def registered() -> list[Feed]:
    return sorted(_FEEDS.values(), key=lambda f: (f.order, f.name))
