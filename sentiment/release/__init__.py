"""Release: evaluate a bundle on the test split, gate it against the champion, and record
every decision in the append-only ledger.

``test_split`` and ``metrics`` feed ``evaluation`` (a bundle's evaluation files);
``paired_test``, ``gate_rules`` and ``gate`` decide; ``ledger`` records; ``champion``
says which bundle is current (light: scoring imports it); ``promotion`` ties evaluation,
gate and ledger together; ``listing`` and ``report`` show the registry; ``config`` holds
the gate policy and ``errors`` the stage's errors.
"""
