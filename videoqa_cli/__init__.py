"""The ``videoqa`` command line: the one composition root, the only package that may import every
layer (``web`` > ``workers`` > ``video_qa`` > ``model``). ``main`` builds the parser; the handlers
live in ``commands`` by subject and call the shared use cases of ``video_qa.services``."""
