"""Checkpoints: where each file stream resumes. `STORES` maps a store kind to its implementation."""

from shipper.checkpoint.store import STORES, Checkpoint, CheckpointStore, JsonFileStore

__all__ = ["STORES", "Checkpoint", "CheckpointStore", "JsonFileStore"]
