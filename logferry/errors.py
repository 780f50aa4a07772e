"""Errors shared by the shipper and the consumer."""


class LogferryError(Exception):
    """Base of logferry's own errors. `retriable` says whether trying the same thing again may succeed."""

    retriable = False


class ConfigError(LogferryError):
    """The configuration is invalid. The message is one sentence naming the key and the problem."""

    def __init__(self, key: str, problem: str) -> None:
        self.key = key
        self.problem = problem
        super().__init__(f"{key}: {problem}" if key else problem)
