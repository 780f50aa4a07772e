"""Where a stream's reading continues: one object, shared by the stream and the harvester reading it."""


class Cursor:
    """The read position (always a line start, or inside an over-long line being skipped) and the bytes before it."""

    __slots__ = ("position", "tail")

    def __init__(self, position: int = 0, tail: bytes = b"") -> None:
        self.position = position
        self.tail = tail
        """The (at most MARKER_BYTES) bytes just before `position`: checked on every read and when reopened."""
