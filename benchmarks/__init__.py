"""The product's speed and memory benchmarks, one module per stage.

Run each from the repository root as a module, for example
``python -m benchmarks.scoring --home HOME``; every module's docstring gives its command.
They print figures and assert nothing (tests never time anything); the current figures,
each with its command and date, are in ``docs/performance.md``. Fixtures shared with the
tests come from ``tests.support``.
"""
