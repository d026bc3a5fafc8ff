"""Text questions on what the text pipeline (momenti.pipelines.text) has analysed: topic questions (volume,
share and sentiment by touchpoint and period, the comments behind them, emerging
issues, new topics to promote). Definitions: `momenti.insights.text.topics` and docs/text-pipeline.md.

Group/filter arguments shared by `topics`, `comments` and `text_trends`:
- `by`: touchpoint, stage, journey, channel (a response's channel; for feedback its source), source ("survey"
  or the feedback source), kind ("answer" or "feedback"), language, question, segment:<attribute>;
- `period`: day, week, month, quarter or year; `start` / `end`: first and last day, inclusive;
- `filters`: {dimension: [values]} (also `topic` and `sentiment`), or the same as keyword arguments.
Only masked text is ever returned, unless MOMENTI_TEXT_KEEP_ORIGINAL allows `original=True`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from momenti.core.args import as_date, as_list, parse_filters
from momenti.core.errors import InputError
from momenti.insights.base import WorkspaceQuestions
from momenti.insights.text import kept
from momenti.insights.text import topics as _topics

By = Sequence[str] | str | None
Filters = Mapping[str, Sequence[str] | str] | None
DateLike = dt.date | str | None



class TextQuestions(WorkspaceQuestions):
    """Mixed into momenti.Workspace (self is a Workspace: self.warehouse(), self.raw, self.sync, self.settings)."""


    # -- questions ----------------------------------------------------------------------------------------

    def _text_query(self, by: By, period: str | None, start: DateLike, end: DateLike, filters: Filters,
                    more: Mapping[str, Sequence[str] | str | None]) -> _topics.TextQuery:
        merged: dict[str, list[str]] = {}
        for dim, values in {**parse_filters(filters), **{k: v for k, v in more.items() if v is not None}}.items():
            merged.setdefault(dim, []).extend([values] if isinstance(values, str) else list(values))
        return _topics.TextQuery(as_list(by), period, as_date(start), as_date(end), merged)

    def topics(self, by: By = None, period: str | None = None, start: DateLike = None, end: DateLike = None,
               filters: Filters = None, **more: Sequence[str] | str | None) -> pd.DataFrame:
        """Topic volume, share and sentiment per group. Columns: the keys, topic, label (in MOMENTI_TEXT_LANGUAGE),
        n_comments (analysed items in
        the group), n (items mentioning the topic), share % with Wilson ci_low/ci_high, positive, neutral,
        negative (mentions by the topic's own sentiment), net_sentiment (-100..100) with net_ci_low/net_ci_high,
        small_sample (the group or the mentions below MOMENTI_MIN_N)."""
        q = self._text_query(by, period, start, end, filters, more)
        with self.warehouse() as wh:
            df = _topics.topics(wh, q, self.settings.confidence, self.settings.min_n)
        if "topic" in df.columns:  # the key stays the key; the label is in the workspace's language
            df.insert(df.columns.get_loc("topic") + 1, "label",
                      self._taxonomy().labels([str(k) for k in df["topic"]], self.settings.text_language))
        return df

    def _taxonomy(self):  # noqa: ANN202 - a momenti.engines.text.topics.Taxonomy
        """The taxonomy in use (the workspace's file, else the sector's): where topic labels come from."""
        from momenti.engines.text.topics import Taxonomy

        return Taxonomy.load(kept.taxonomy_source(self.settings))

    def _with_topic_labels(self, df: pd.DataFrame) -> pd.DataFrame:
        """A `topic_labels` column after `topics`: each comment's topics named in its own language (English for
        English comments, Italian otherwise); `topics` keeps the stable keys."""
        if "topics" not in df.columns:
            return df
        tax = self._taxonomy()
        labels = [", ".join(tax.labels([k.strip() for k in str(keys).split(",") if k.strip()], lang))
                  for keys, lang in zip(df["topics"].fillna(""), df["language"], strict=True)]
        df.insert(df.columns.get_loc("topics") + 1, "topic_labels", labels)
        return df

    def comments(self, topic: str | None = None, sentiment: str | None = None, limit: int | None = None,
                 by: By = None, start: DateLike = None, end: DateLike = None, filters: Filters = None,
                 original: bool = False, **more: Sequence[str] | str | None) -> pd.DataFrame:
        """The comments, newest first (all of them, or the newest `limit`), with a topic and/or sentiment (the
        topic's own sentiment when a topic is given), masked: kind, external_id, question, ts, touchpoint,
        channel, language, sentiment, sentiment_score, topics (keys), topic_labels (in the comment's language),
        masked_text. Empty when fewer than MOMENTI_TEXT_MIN_GROUP comments match (attrs["withheld"]).
        `original=True` adds the original `text`, decrypted from the store, only if MOMENTI_TEXT_KEEP_ORIGINAL
        is on (otherwise originals are dropped at analysis and this raises InputError); where no original was
        kept (nothing to mask, or dropped before the setting was on) `text` is the masked text."""
        if original and not self.settings.text_keep_original:
            raise InputError("original text is not kept: MOMENTI_TEXT_KEEP_ORIGINAL is false, so analysis replaces "
                             "it with the masked text; set MOMENTI_TEXT_KEEP_ORIGINAL=true to keep (encrypted) the "
                             "originals of comments analysed from then on")
        if by:
            raise InputError("comments take filters (touchpoint=..., kind=...), not groups")
        if limit is not None and limit < 1:
            raise InputError("limit must be at least 1")
        q = self._text_query(None, None, start, end, filters, {"topic": topic, "sentiment": sentiment, **more})
        originals = self._originals if original else None
        with self.warehouse() as wh:
            df = _topics.comments(wh, q, limit=limit, min_group=self.settings.text_min_group, original=originals)
        return self._with_topic_labels(df)

    def _originals(self, item_keys: list[str]) -> list[str | None]:
        """The kept originals of these items (warehouse item keys), decrypted from the store."""
        cipher = kept.original_cipher(self.settings)
        with self.raw() as store:
            return kept.read_originals(store, cipher, item_keys)

    def text_trends(self, period: str | None = "month", by: By = None, start: DateLike = None, end: DateLike = None,
                    filters: Filters = None, emerging_only: bool = False, periods: tuple[str, str] | None = None,
                    **more: Sequence[str] | str | None) -> pd.DataFrame:
        """Emerging issues: each topic's share of comments in each period against the calendar period before
        (or, with `periods=(A, B)`, in period B against period A: "2026-03", "2026-Q1", "2026-01..2026-02").
        Columns: the keys, topic, period_a, period_b, n_a, n_b (comments), k_a, k_b (mentions), share_a,
        share_b (%), delta (pp), ci_low, ci_high (Newcombe), p_value, significant, q_value
        (Benjamini-Hochberg over the rows), emerging (grew and q_value < 1 - confidence), small_sample.
        `emerging_only`: only the emerging rows."""
        q = self._text_query(by, None if periods else period, start, end, filters, more)
        with self.warehouse() as wh:
            df = _topics.trends(wh, q, self.settings.confidence, self.settings.min_n, periods)
        if emerging_only:
            df = df[df["emerging"].astype(bool)].reset_index(drop=True)
        return df

    def discover_topics(self, n_topics: int = 8, unmatched_only: bool = True, start: DateLike = None,
                        end: DateLike = None, filters: Filters = None, seed: int = 0,
                        **more: Sequence[str] | str | None) -> pd.DataFrame:
        """New topics in the comments no taxonomy topic matched (`unmatched_only`), found by NMF on TF-IDF of
        lemmas: topic, label, size, share, top_terms, keywords, examples (masked comments). The text of clusters
        smaller than MOMENTI_TEXT_MIN_GROUP is withheld. Promote one with `promote_topic`."""
        from momenti.engines.text.topics import discover

        q = self._text_query(None, None, start, end, filters, more)
        with self.warehouse() as wh:
            texts = _topics.texts_for_discovery(wh, q, unmatched_only)
        if len(texts) < max(2 * n_topics, self.settings.text_min_group):
            raise InputError(f"only {len(texts)} comments to look in: too few to discover {n_topics} topics")
        langs = [v if v in ("it", "en") else None for v in texts["language"].tolist()]
        masked = texts["masked_text"].tolist()
        df = discover(masked, langs, n_topics=n_topics, seed=seed)
        if "examples" in df:  # positions in the list given -> the (masked) example comments themselves
            df["examples"] = [" | ".join(masked[i] for i in ex) for ex in df["examples"]]
        for col in ("top_terms", "keywords"):
            if col in df:
                df[col] = [", ".join(map(str, v)) if isinstance(v, list | tuple) else v for v in df[col]]
        small = df["size"] < self.settings.text_min_group
        for col in ("label", "top_terms", "keywords", "examples"):
            if col in df:
                df[col] = df[col].astype(object).where(~small, None)
        return df.reset_index(drop=True)

    def promote_topic(self, key: str, label_it: str, label_en: str, lemmas: Sequence[str] | str) -> Path:
        """Add a topic (matched by these lemmas/keywords) to the workspace's taxonomy file (created from the
        sector's taxonomy the first time). The next `text_analyze` re-analyses every item with it."""
        from momenti.engines.text.topics import Taxonomy

        words = as_list(lemmas)
        if not key.strip() or not words:
            raise InputError("a topic needs a key and at least one lemma")
        path = kept.user_taxonomy_path(self.settings)
        taxonomy = Taxonomy.load(kept.taxonomy_source(self.settings))
        taxonomy.promote(key.strip(), label_it, label_en, words, path)
        return path
