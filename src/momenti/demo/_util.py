"""Small vectorised helpers shared by the demo modules.

Everything inside the generator works on int64 seconds since the Unix epoch (UTC) and on small integer codes;
Arrow columns are built only at the end, with these helpers, so that a million rows never go through a
Python loop.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa

US_PER_S = 1_000_000
TIMESTAMP = pa.timestamp("us", tz="UTC")


def id_array(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    """Identifiers like ``C000123`` built digit by digit in a byte matrix (no per-row f-strings)."""
    head = prefix.encode("ascii")
    total = len(head) + width
    buf = np.empty((len(numbers), total), dtype=np.uint8)
    buf[:, : len(head)] = np.frombuffer(head, dtype=np.uint8)
    rest = np.asarray(numbers, dtype=np.int64).copy()
    for pos in range(total - 1, len(head) - 1, -1):
        buf[:, pos] = 48 + rest % 10
        rest //= 10
    return pa.array(buf.view(f"S{total}").ravel()).cast(pa.string())


def timestamps(seconds: np.ndarray, fraction_us: np.ndarray | None = None) -> pa.Array:
    """int64 seconds (plus optional microseconds) -> timestamp('us', tz='UTC')."""
    us = np.asarray(seconds, dtype=np.int64) * US_PER_S
    if fraction_us is not None:
        us = us + fraction_us
    return pa.array(us, type=TIMESTAMP)


def decode(codes: np.ndarray, labels: Sequence[str]) -> pa.Array:
    """Integer codes -> string column; a negative code becomes null."""
    codes = np.asarray(codes, dtype=np.int32)
    indices = pa.array(codes, mask=codes < 0)
    return pa.DictionaryArray.from_arrays(indices, pa.array(list(labels), type=pa.string())).dictionary_decode()


def nullable_int(values: np.ndarray, mask: np.ndarray) -> pa.Array:
    """int64 column with nulls where ``mask`` is true."""
    return pa.array(np.asarray(values, dtype=np.int64), type=pa.int64(), mask=np.asarray(mask, dtype=bool))


def nullable_float(values: np.ndarray) -> pa.Array:
    """float64 column where NaN means null (a duration that does not apply is missing, not zero)."""
    values = np.asarray(values, dtype=np.float64)
    return pa.array(values, type=pa.float64(), mask=np.isnan(values))


def choice_codes(rng: np.random.Generator, weights: Sequence[float] | np.ndarray, size: int) -> np.ndarray:
    """Draw ``size`` codes 0..k-1 with the given (unnormalised) weights."""
    p = np.asarray(weights, dtype=np.float64)
    cum = np.cumsum(p / p.sum())
    cum[-1] = 1.0
    return np.searchsorted(cum, rng.random(size), side="right").astype(np.int32)


def row_choice(rng: np.random.Generator, weight_rows: np.ndarray) -> np.ndarray:
    """One code per row, each row with its own weights (rows of a 2-D matrix)."""
    cum = np.cumsum(weight_rows, axis=1)
    cum /= cum[:, -1:]
    draws = rng.random(len(weight_rows))[:, None]
    return np.minimum((cum < draws).sum(axis=1), weight_rows.shape[1] - 1).astype(np.int32)


def month_index(seconds: np.ndarray, start_s: int) -> np.ndarray:
    """Calendar month number counted from the month of ``start_s`` (0 = first month)."""
    months = np.asarray(seconds, dtype="datetime64[s]").astype("datetime64[M]").astype(np.int64)
    first = np.datetime64(start_s, "s").astype("datetime64[M]").astype(np.int64)
    return months - first


def month_start(start_s: int, offsets: np.ndarray) -> np.ndarray:
    """Seconds at 00:00 UTC of the first day of month ``start + offsets``."""
    first = np.datetime64(start_s, "s").astype("datetime64[M]")
    months = first + np.asarray(offsets, dtype=np.int64).astype("timedelta64[M]")
    return months.astype("datetime64[s]").astype(np.int64)


def segment_positions(lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For groups of given lengths laid end to end: the group of each element and its position inside it."""
    lengths = np.asarray(lengths, dtype=np.int64)
    group = np.repeat(np.arange(len(lengths)), lengths)
    starts = np.cumsum(lengths) - lengths
    pos = np.arange(int(lengths.sum())) - np.repeat(starts, lengths)
    return group, pos
