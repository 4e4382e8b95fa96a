"""Release: a bundle's evaluation on the test split and the promotion gate, recorded in
the append-only ledger that says which bundle is the champion."""
