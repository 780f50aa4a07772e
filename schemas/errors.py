"""Errors raised by the schema package."""


class SchemaError(Exception):
    """An event does not conform to the unified schema. Not retriable: the same bytes fail again."""

    retriable = False
