"""Core: errors, paths under the home, atomic writes and Arrow/numpy helpers.

The bottom layer: it imports nothing else from the library.
"""
