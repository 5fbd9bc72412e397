"""What grew between two tracemalloc dumps of memory_probe.py, by line and by traceback.

    python tests/bench/memory_diff.py OLD.pickle NEW.pickle [--top 25]

Not collected by pytest.
"""

from __future__ import annotations

import argparse
import tracemalloc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old")
    parser.add_argument("new")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    old = tracemalloc.Snapshot.load(args.old)
    new = tracemalloc.Snapshot.load(args.new)
    ignore = [tracemalloc.Filter(False, tracemalloc.__file__)]
    old, new = old.filter_traces(ignore), new.filter_traces(ignore)
    total_old = sum(s.size for s in old.statistics("filename"))
    total_new = sum(s.size for s in new.statistics("filename"))
    print(f"traced {total_old / 1e6:.1f} MB -> {total_new / 1e6:.1f} MB")
    print(f"\ntop {args.top} growth by line:")
    for stat in new.compare_to(old, "lineno")[: args.top]:
        print(f"  {stat.size_diff / 1e6:+8.2f} MB {stat.count_diff:+8d} blocks  {stat.traceback}")
    print(f"\ntop {min(args.top, 10)} growth by traceback:")
    for stat in new.compare_to(old, "traceback")[: min(args.top, 10)]:
        print(f"  {stat.size_diff / 1e6:+8.2f} MB {stat.count_diff:+8d} blocks")
        for line in stat.traceback.format(limit=12):
            print(f"      {line}")


if __name__ == "__main__":
    main()
