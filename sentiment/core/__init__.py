"""Core: errors, paths under the home, atomic writes, Arrow/numpy helpers, locks on the
home, the code fingerprint and a quiet TensorFlow import.

The bottom layer: it imports nothing else from the library.
"""
