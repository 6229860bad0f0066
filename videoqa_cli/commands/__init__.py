"""Handlers of the ``videoqa`` commands: ``handler(settings, args) -> exit status``."""
