"""Small groups withheld from an aggregate-only audience (the viewer role): one rule for every answer.

An NPS of a group of three is close to the answers of three people someone can name. Every table an insight
answers is flagged (`small_sample`) for everyone; for a reader allowed aggregates only, the groups under the
minimum size (MOMENTI_MIN_N) are also *withheld*:

- a table with a group size `n`: the row stays with its keys and its size (that a group exists and how big it
  is says nothing about its answers), every measure of it is blanked and `withheld` is true;
- a table whose size is its measure (the directly-follows pairs, activities and variants counted in `count`,
  a survival curve's points by their number `at_risk`): the rows under the minimum are left out.

The server applies this to every answer a viewer gets (server/disclosure.py), so the dashboard, the REST API and
the query protocol cannot disagree; `attrs["withheld"]` says how many groups were withheld.
"""

from __future__ import annotations

import pandas as pd

# The column giving a row's size, in order of preference; `n` is a group's number of answers or customers.
SIZE_COLUMNS = ("n", "count", "at_risk")
# Numbers that name a row rather than measure its group (a funnel's step, a variant's rank and length)
KEY_COLUMNS = frozenset({"step", "rank", "length", "time", "positive_moments", "year"})


def is_size(column: str) -> bool:
    """A count of the group's members (n, n_a, performance_n, ...), kept when the group's measures are blanked."""
    return column == "n" or column.startswith("n_") or column.endswith("_n")


def _not_a_measure(dtype: object) -> bool:
    return not pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype)


def small_rows(df: pd.DataFrame, min_n: int) -> pd.Series:
    """True for the rows of a group under the minimum: flagged small, or with a size under `min_n`."""
    small = pd.Series(False, index=df.index)
    if "small_sample" in df.columns:
        small |= df["small_sample"].fillna(False).astype(bool)
    size = next((c for c in SIZE_COLUMNS if c in df.columns), None)
    if size is not None:
        small |= pd.to_numeric(df[size], errors="coerce").fillna(0) < min_n
    return small


def withhold_small_groups(df: pd.DataFrame, min_n: int) -> pd.DataFrame:
    """A copy of `df` with the groups under `min_n` withheld (see the module's rule); `df` is not changed (it may
    be the result cache's)."""
    small = small_rows(df, min_n)
    count = int(small.sum())
    if "n" in df.columns:
        out = df.copy()
        measures = [c for c in out.columns if not (is_size(str(c)) or c in KEY_COLUMNS or _not_a_measure(out[c].dtype))]
        for col in measures if count else []:
            out[col] = out[col].astype(object).where(~small, None)
        out["withheld"] = small.to_numpy()
    else:
        out = df[~small.to_numpy()].reset_index(drop=True) if count else df.copy()
    out.attrs = {**df.attrs, "withheld": count}
    return out
