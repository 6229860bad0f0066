"""VideoQA: long-video understanding with honest timestamps."""

__version__ = "0.1.0"
