"""Factories for test rows and test media."""
