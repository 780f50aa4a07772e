"""A few readers shared by the request threads: a reader (one SQLite connection with its block cache, or one HTTP
client) is used by one thread at a time; at most `size` are open, and a thread that finds none free waits."""

import queue
import threading
from collections.abc import Callable
from typing import TypeVar

from consumer.config import ConsumerConfig
from consumer.sinks.base import IndexReader
from consumer.sinks.registry import open_reader

T = TypeVar("T")


class ReaderPool:
    def __init__(self, config: ConsumerConfig, size: int = 4,
                 opener: Callable[[ConsumerConfig], IndexReader] = open_reader) -> None:
        self._config = config
        self._opener = opener
        self._free: queue.LifoQueue[IndexReader] = queue.LifoQueue()
        self._all: list[IndexReader] = []
        self._size = size
        self._lock = threading.Lock()

    def call(self, work: Callable[[IndexReader], T]) -> T:
        """`work(reader)` with a reader no other thread uses meanwhile."""
        reader = self._take()
        try:
            return work(reader)
        finally:
            self._free.put(reader)

    def _take(self) -> IndexReader:
        try:
            return self._free.get_nowait()
        except queue.Empty:
            pass
        with self._lock:
            if len(self._all) < self._size:
                reader = self._opener(self._config)
                self._all.append(reader)
                return reader
        return self._free.get()

    def close(self) -> None:
        with self._lock:
            for reader in self._all:
                reader.close()
            self._all.clear()
