"""Release: metrics and test-split evaluation (``evaluation``), the promotion gate
(``gate``) and the append-only registry ledger (``registry``); ``config`` holds the
gate policy."""
