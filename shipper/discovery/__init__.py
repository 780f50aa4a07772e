"""Finding files: glob rescans are the source of truth (scanner.py); file-system events only hint (hints.py)."""
