"""VideoQA workers package (see shared DESIGN.md)."""
