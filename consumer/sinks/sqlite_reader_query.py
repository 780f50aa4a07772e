"""User search text to an FTS5 query: every word must appear, and no character is FTS5 syntax.

Each whitespace-separated word becomes a quoted phrase, so `disk-full` or `user:42` match as written (the
tokenizer splits them into adjacent tokens) instead of being read as FTS5 operators.
"""


def fts_query(text: str) -> str:
    words = text.split()
    return " ".join('"' + word.replace('"', '""') + '"' for word in words)
