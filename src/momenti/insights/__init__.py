"""Insights: one sub-package per question family, each with its questions and the warehouse facts it keeps."""
