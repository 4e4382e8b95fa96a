"""Core: errors, paths under the home, atomic writes, files by path or URL (``storage``:
local, ``s3://`` and whatever ``pyarrow.fs`` opens), Arrow/numpy helpers, locks on the
home, the code fingerprint and a quiet TensorFlow import.

The bottom layer: it imports nothing else from the library.
"""
