"""Deterministic identities: the stream id of a file and the event id of a record in it.

stream_id = first 8 bytes of BLAKE2b(host id, file identity, generation), as 16 hex digits.
event_id  = stream_id followed by the record's start byte offset as 16 hex digits (128 bits in all).

Reading the same bytes again, after a crash, a restart or a rename, yields the same ids, so the index
can drop re-deliveries. Consecutive records of one file get neighbouring ids, which keeps inserts local
in the index's B-tree. The generation is bumped by the shipper when it sees the file's content replaced
in place (copytruncate, inode reuse), so new content at old offsets never collides with old records.
"""

from hashlib import blake2b


def stream_id(host_id: str, file_identity: str, generation: int = 0) -> str:
    """The 16-hex-digit id of one file's byte stream on one host."""
    material = f"{host_id}\x1f{file_identity}\x1f{generation}".encode()
    return blake2b(material, digest_size=8).hexdigest()


def event_id(stream: str, offset: int) -> str:
    """The 32-hex-digit event id of the record starting at byte `offset` of stream `stream`."""
    return f"{stream}{offset:016x}"


def split_event_id(value: str) -> tuple[str, int]:
    """The (stream id, offset) an event id was made from."""
    return value[:16], int(value[16:], 16)
