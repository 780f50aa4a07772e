"""Helpers shared by the tests: starting real services, making topics, reading them back."""
