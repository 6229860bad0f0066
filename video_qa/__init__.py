"""VideoQA's core: media (probe, plan, exact frames and audio), the pipeline (ledger, runners),
what each part computes (``analysis``), the moments store (``moments``), search, ask, and the use
cases every client shares (``services``); settings, database models and sessions at the root."""

__version__ = "0.1.0"
