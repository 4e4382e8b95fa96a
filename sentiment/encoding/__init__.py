"""Encoding: how review text becomes ids, the same way for training and scoring.

The definition of a token (``text``), compiled loops (``kernels``), batch tokenizing
(``tokens``), n-gram keys (``ngrams``), vocabulary fitting (``vocabulary``) and the
``Vectorizer``; ``config`` holds the settings and imports nothing heavy.
"""
