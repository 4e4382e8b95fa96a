"""Labelling: which scored reviews a person should label next (the labelling queue)."""
