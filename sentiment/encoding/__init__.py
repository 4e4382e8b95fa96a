"""Encoding: how review text becomes ids, the same way for training and scoring.

The definition of a token (``text``), compiled loops (the ``kernels`` package), batch
tokenizing (``tokens``), n-gram keys (``ngrams``) and their lookup tables (``lookup``),
vocabulary fitting (``vocabulary``), the ``Vectorizer``, its file (``vectorizer_file``)
and what encoding returns (``encoded``); ``config`` holds the settings and imports
nothing heavy.
"""
