"""The text pipeline on the Workspace: analyse comments and feedback incrementally, train the company's own
sentiment model, list the models. The questions on the results are in momenti.insights.text.questions."""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from momenti.core.errors import InputError
from momenti.insights.base import WorkspaceQuestions
from momenti.insights.text import facts as text_facts
from momenti.pipelines.text import analysis as text_store
from momenti.pipelines.text import models as text_models
from momenti.pipelines.text.sources import free_text_questions

log = logging.getLogger("momenti.pipelines.text")


class TextPipelineQuestions(WorkspaceQuestions):
    """Mixed into momenti.Workspace (self is a Workspace: self.warehouse(), self.raw, self.sync, self.settings)."""


    # -- analysis -----------------------------------------------------------------------------------------

    def text_analyze(self, limit: int | None = None, rebuild: bool = False, sync: bool = True,
                     progress: text_store.Progress | None = None) -> dict:
        """Analyse every free-text answer (questions of kind "text") and feedback item not analysed yet, or
        analysed by another analyzer version (another model or taxonomy); `rebuild`: all of them again;
        `limit`: at most this many items. Results go to the store, then (`sync`) to the warehouse's text tables.
        Returns {analysed: {answer, feedback}, total, replaced, version, seconds}."""
        analyzer = text_store.build_analyzer(self.settings)
        with self.warehouse() as wh:  # the warehouse tells free text from categorical text columns, fast
            questions = free_text_questions(wh)
        report = text_store.analyze_pending(self.raw, analyzer, questions, limit=limit, force=rebuild,
                                            progress=progress)
        if sync and report.total:
            _, rebuilt = text_facts.sync(self.raw, self.settings.warehouse)  # only the text tables move
            if rebuilt:
                self.sync(progress=progress)
        return report.as_dict()

    def _auto_text_analyze(self) -> dict | None:
        """After an import (MOMENTI_TEXT_AUTO): analyse what it added; a failure here never fails the import.
        The analysis report, or None when off or failed."""
        if not self.settings.text_auto:
            return None
        try:
            return self.text_analyze()
        except Exception:  # noqa: BLE001 - the import is done and committed; say what went wrong and go on
            log.exception("text analysis after import failed; run `momenti text analyze` to retry")
            return None

    def text_train(self, labels: str | Path | None = None, from_scores: bool = True,
                   thresholds: text_models.Thresholds | None = None, analyze: bool = False) -> dict:
        """Train the sentiment model on a labelled file (`labels`: CSV with text,label) or on the company's
        own comments labelled by their scores (NPS 0-6 / 9-10, CSAT 1-2 / 4-5, review rating 1-2 / 4-5 by
        default). Saves `models/sentiment-<n>.joblib` under the data directory (used from then on) and returns
        its metadata: model, path, n, classes, cv_macro_f1 (5-fold), created_at, labels_from.
        `analyze`: then re-analyse every item with the new model."""
        if labels is not None:
            labelled = text_models.labels_from_file(Path(labels))
        elif from_scores:
            with self.warehouse() as wh:
                labelled = text_models.labels_from_scores(wh, thresholds or text_models.Thresholds())
        else:
            raise InputError("nothing to train on: give a labels file (text,label) or use the scores")
        meta = text_models.train(self.settings, labelled)
        if analyze:
            meta["analysis"] = self.text_analyze()
        return meta

    def text_models(self) -> pd.DataFrame:
        """The trained sentiment models: model, created_at, n, cv_macro_f1, labels_from, path (newest last)."""
        return text_models.list_models(self.settings)
