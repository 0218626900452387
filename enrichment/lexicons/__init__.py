"""The word lists of the sentiment engine (TSV files; see enrichment/lexicon.py). A package so they ship with it."""
