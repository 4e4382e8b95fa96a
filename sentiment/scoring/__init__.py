"""Scoring: input discovery and reading (``readers``), streaming batch scoring
(``scorer``), per-file results (``results``), drift profiles (``profile``) and the run
summary (``summary``); ``config`` holds the settings."""
