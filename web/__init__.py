"""VideoQA web package (see shared DESIGN.md)."""
