"""Bookkeeping of the facts kept at sync (journey facts, contact facts): their watermarks in `_meta` (the
largest event id each has materialised) beside the warehouse's own largest event id."""

from __future__ import annotations

import pyarrow as pa

from momenti.warehouse.connection import WarehouseConnection, sql_literal


def marks(wh: WarehouseConnection, *keys: str) -> tuple[int, list[str | None]]:
    """The largest event id (0 when none) and the `_meta` values of `keys` (None when unset), in one query."""
    values = ", ".join(f'(SELECT max(value) FROM "_meta" WHERE key = {sql_literal(k)})' for k in keys)
    (top, *found), = wh.rows(f'SELECT (SELECT max(id) FROM "events"){", " if keys else ""}{values}')
    return int(top or 0), list(found)


def set_meta(wh: WarehouseConnection, key: str, value: object) -> None:
    wh.delete_rows("_meta", f"key = {sql_literal(key)}")
    wh.insert("_meta", pa.table({"key": [key], "value": [str(value)]}))
