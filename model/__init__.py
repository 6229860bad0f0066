"""VideoQA model package (see shared DESIGN.md)."""
