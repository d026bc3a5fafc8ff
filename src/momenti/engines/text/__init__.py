"""Text analytics, offline: language, PII masking, sentiment (lexicon, learned, tiered), topics, aspects.

``momenti.engines.text.analyze.analyze_batch`` is the entry point; see docs/text.md.
"""

# Version of the engines' behaviour (lexicons, taxonomies, rules): the pipeline re-analyses stored texts when it
# changes. Bump it with any change that alters analyze_batch's output.
__version__ = "2"
