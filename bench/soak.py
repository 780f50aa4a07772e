"""The long fault-injection run (the harness of tests/chaos/ for as long as asked); prints its summary.

.venv/bin/python bench/soak.py --minutes 30 --kills 100
"""

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.chaos.harness import Chaos, ChaosPlan


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=30.0, help="how long the writers write")
    parser.add_argument("--kills", type=int, default=100, help="SIGKILLs in all, split between shipper and workers")
    parser.add_argument("--broker-restarts", type=int, default=6)
    parser.add_argument("--disk-full", type=int, default=6)
    parser.add_argument("--poison", type=int, default=20)
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--rate", type=float, default=50.0, help="lines per second per writer")
    parser.add_argument("--seed", type=int)
    parser.add_argument("--workdir", type=Path, help="keep the run's files here (default: a temporary directory)")
    args = parser.parse_args()
    plan = ChaosPlan(
        seconds=args.minutes * 60,
        writers=args.writers,
        rate=args.rate,
        rotate_every=2000,
        utf16_writers=max(1, args.writers // 4),
        shipper_kills=args.kills // 2,
        consumer_kills=args.kills - args.kills // 2,
        broker_restarts=args.broker_restarts,
        disk_full_episodes=args.disk_full,
        poison=args.poison,
        drain_timeout=600.0,
        **({"seed": args.seed} if args.seed is not None else {}),
    )
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="logferry-soak-"))
    summary = Chaos(workdir, plan).run()
    print(summary.render())
    ok = summary.lost == 0 and summary.duplicated_in_index == 0 and summary.dead_letters == summary.poison_injected
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
