"""Scoring: input discovery and whole-file reading (``readers``, ``chunks``,
``textformats``), what was read (``fingerprint``), output checks (``outputs``), streaming
batch scoring (``scorer``), shards of large inputs joined back (``shards``), per-file
results (``results``), drift (``profile``, ``drift``), the run summary (``summary``) and
the inbox (``inbox``); ``config`` holds the settings."""
