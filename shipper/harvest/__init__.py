"""Reading files: framing bytes into lines (framing.py) and one state machine per open file (harvester.py)."""
