"""How the SQLite sink stores event JSON: zstd-compressed blocks of consecutive events.

Events of one batch are cut into blocks of up to BLOCK_EVENTS events (and BLOCK_BYTES of JSON); a block's row in
`blocks` has the id of its first event, and event `id` lives in the block with the largest id <= `id`, at slot
`id - block id`: the `events` row carries no pointer at all. Measured on bench/consume_throughput.py's corpus (half
JSON app lines, half nginx access lines, 957 bytes of event JSON per ~190-byte line): one zstd frame per event gets
~520 bytes/event without a dictionary and ~275 with one trained on the database's first 5,000 events; blocks of
128 events get ~61 without a dictionary and ~56 with one, so a per-database dictionary does not pay enough to be
worth its training and bookkeeping (8% of the blob, ~2% of a schema 4 file) and there is none. In the file the blocks
take 70.6 bytes per event in pages (page-filling blocks, see BlockEncoder), 26% of the 271 a schema 4 file takes
(dbstat, 500,000 events; the whole file 1.43x the raw lines). Level 3: level 1 is no faster at this size, 6 is 3x
slower. Decompressing a block takes ~60-80 us; a search result is at most `limit` blocks.

Decompressed, a block is `n` (uint32), `n + 1` uint32 offsets into the data, then the events' bytes exactly as
received (so search returns the JSON unchanged).
"""

import bisect
import sqlite3
import struct
from collections import OrderedDict

import zstandard

BLOCK_EVENTS_MAX = 1024
BLOCK_EVENTS_FIRST = 128  # before the encoder has seen how well this stream compresses
BLOCK_BYTES = 1024 * 1024  # of JSON, at most, whatever the ratio
LEVEL = 3
PAGE_FILL = 0.93  # of a page's usable payload, the compressed size a block aims at (0.85: 90% of the pages filled)
_COUNT = struct.Struct("<I")


def block_bounds(raws: list[bytes], events: int) -> list[tuple[int, int]]:
    """(start, end) positions in `raws` of each block: up to `events` events and BLOCK_BYTES bytes (at least one)."""
    bounds: list[tuple[int, int]] = []
    start = 0
    size = 0
    for position, raw in enumerate(raws):
        if position > start and (position - start >= events or size + len(raw) > BLOCK_BYTES):
            bounds.append((start, position))
            start, size = position, 0
        size += len(raw)
    if start < len(raws):
        bounds.append((start, len(raws)))
    return bounds


def block_payload(raws: list[bytes]) -> bytes:
    """The uncompressed form of a block holding `raws`."""
    offsets = [0]
    total = 0
    for raw in raws:
        total += len(raw)
        offsets.append(total)
    return struct.pack(f"<{len(offsets) + 1}I", len(raws), *offsets) + b"".join(raws)


class BlockEncoder:
    """Compresses blocks sized to fill one database page each.

    A row up to a page's usable size minus 35 bytes stays on its leaf page; blocks of a fixed 128 events (~7.8 KB
    compressed here) left most 16 KiB pages half empty (96 bytes of pages per 61 bytes of block, dbstat). So the
    number of events per block follows the compressed bytes per event the last block had, aiming at PAGE_FILL of a
    page: one block per page, the margin absorbing the variation between blocks. One compressor, reused: its context
    allocation is the costly part for small inputs."""

    def __init__(self, page_size: int = 16_384) -> None:
        self._compressor = zstandard.ZstdCompressor(level=LEVEL, write_checksum=False, write_content_size=True)
        self._target = int((page_size - 35) * PAGE_FILL)
        self._events = BLOCK_EVENTS_FIRST

    def encode(self, raws: list[bytes]) -> list[tuple[int, int, bytes]]:
        """(first position, slots, compressed block) for each block of `raws`."""
        compress = self._compressor.compress
        blocks = []
        start = 0
        while start < len(raws):
            end = block_bounds(raws[start:start + self._events], self._events)[0][1] + start
            data = compress(block_payload(raws[start:end]))
            blocks.append((start, end - start, data))
            if end - start == self._events:  # a full block: its ratio tells the size of the next
                self._events = max(16, min(BLOCK_EVENTS_MAX, self._target * self._events // max(1, len(data))))
            start = end
        return blocks


def slot_of(payload: bytes, slot: int) -> bytes:
    """The event at `slot` of a decompressed block; IndexError when the block has no such slot."""
    (count,) = _COUNT.unpack_from(payload, 0)
    if not 0 <= slot < count:
        raise IndexError(slot)
    start, end = struct.unpack_from("<2I", payload, 4 * (slot + 1))
    base = 4 * (count + 2)
    return payload[base + start:base + end]


class BlockCache:
    """Decompressed blocks by id, the few most recent (a search's results are mostly neighbours), and which cached
    block holds a row id, without a query: rows read in timestamp order alternate between the blocks of the files
    written at the same time."""

    def __init__(self, capacity: int = 64) -> None:
        self._decompressor = zstandard.ZstdDecompressor()
        self._blocks: OrderedDict[int, tuple[int, bytes]] = OrderedDict()  # id -> (slots, payload)
        self._ids: list[int] = []  # the cached ids, sorted
        self._capacity = capacity

    def holding(self, row_id: int) -> tuple[int, bytes] | None:
        """(block id, payload) of the cached block that holds `row_id`, if any."""
        position = bisect.bisect_right(self._ids, row_id) - 1
        if position < 0:
            return None
        block_id = self._ids[position]
        slots, payload = self._blocks[block_id]
        if row_id >= block_id + slots:
            return None
        self._blocks.move_to_end(block_id)
        return block_id, payload

    def put(self, block_id: int, slots: int, data: bytes) -> bytes:
        """Decompress `data`, keep it as block `block_id` of `slots` rows, return it."""
        payload: bytes = self._decompressor.decompress(data)
        if block_id not in self._blocks:
            bisect.insort(self._ids, block_id)
        self._blocks[block_id] = (slots, payload)
        if len(self._blocks) > self._capacity:
            gone, _ = self._blocks.popitem(last=False)
            del self._ids[bisect.bisect_left(self._ids, gone)]
        return payload

    def clear(self) -> None:
        self._blocks.clear()
        self._ids.clear()


class StoredEvents:
    """Reads events' JSON out of the blocks of one connection."""

    def __init__(self, connection: sqlite3.Connection, cache: BlockCache | None = None) -> None:
        self._connection = connection
        self._cache = cache or BlockCache()

    def get(self, row_id: int) -> bytes | None:
        """The JSON of event `row_id` as received; None when its block is gone."""
        located = self.locate(row_id)
        return None if located is None else located[1]

    def locate(self, row_id: int) -> tuple[int, bytes] | None:
        """(block id, JSON as received) of event `row_id`; None when its block is gone."""
        cached = self._cache.holding(row_id)
        if cached is None:
            found = self._connection.execute(
                "SELECT id, slots, data FROM blocks WHERE id <= ? ORDER BY id DESC LIMIT 1", (row_id,)
            ).fetchone()
            if found is None or row_id >= int(found[0]) + int(found[1]):
                return None
            cached = int(found[0]), self._cache.put(int(found[0]), int(found[1]), bytes(found[2]))
        block_id, payload = cached
        try:
            return block_id, slot_of(payload, row_id - block_id)
        except IndexError:
            return None


def all_stored_events(connection: sqlite3.Connection) -> list[tuple[bytes, bytes]]:
    """(event_id, JSON as received) of every event, in id order (tests, tools)."""
    events = StoredEvents(connection)
    rows = connection.execute("SELECT id, event_id FROM events ORDER BY id").fetchall()
    found = []
    for row_id, event_id in rows:
        raw = events.get(int(row_id))
        if raw is not None:
            found.append((bytes(event_id), raw))
    return found
