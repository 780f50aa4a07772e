"""Parsers: raw records in, unified events out. Pure code, no I/O.

`pipeline.StreamParser` is what the harvester uses: one per file stream, it decodes, groups multiline
records, parses and serialises. The per-format parsers sit one per module behind `base.Parser` and are
listed in `registry`.
"""
