"""consumer.heap.settle: what exists is frozen, and cyclic garbage made afterwards is still collected on its own.

Run in a child interpreter: settle changes the whole interpreter's collector, which pytest's must keep."""

import subprocess
import sys
import textwrap

CHILD = textwrap.dedent("""
    import gc, weakref
    from consumer.heap import OLDER_THRESHOLD, YOUNG_THRESHOLD, settle

    class Node:
        pass

    before = object()
    settle()
    assert gc.get_freeze_count() > 0
    assert gc.get_threshold() == (YOUNG_THRESHOLD, OLDER_THRESHOLD, OLDER_THRESHOLD)
    collected = 0
    def gone(_ref):
        global collected
        collected += 1
    refs = []
    made = 20 * YOUNG_THRESHOLD
    for _ in range(made // 2):
        a, b = Node(), Node()
        a.other, b.other = b, a  # a cycle: reference counting alone never frees it
        refs.append(weakref.ref(a, gone))
        del a, b
    # No explicit gc.collect(): the collector's own passes freed all but the last young generation's worth.
    assert collected >= made // 2 - 2 * YOUNG_THRESHOLD, (collected, made)
    print("ok", collected)
""")


def test_settle_freezes_what_exists_and_cycles_made_later_are_still_collected() -> None:
    done = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("ok "), done.stdout
