#!/usr/bin/env python3
"""Aggregates a PostgreSQL statement log by statement: total time, count,
count per operation and mean time, the costliest first.

Produce the log by setting `log_min_duration_statement = 0` around the
samples to profile (ALTER SYSTEM SET … ; SELECT pg_reload_conf(); then
RESET), cut the server log from the byte offset it had before, and run:

    python3 bench/statement-profile.py LOG [OPERATIONS] [TOP]

OPERATIONS (default 1) divides the counts into "per op" figures (e.g. the
notices settled while logging). Parse and bind lines are totalled apart:
their time is planning, which PostgreSQL repeats at every bind of a
statement it plans with custom plans. Expects the default
`log_line_prefix` of Debian's packages (`%m [%p] %q%u@%d `).
"""
import collections
import re
import sys

LINE = re.compile(
    r"^(\S+ \S+) \S+ \[(\d+)\] \S* ?LOG:  duration: ([\d.]+) ms  "
    r"(parse|bind|execute|statement)([^:]*): (.*)$"
)


def entries(path):
    """(kind, statement text, milliseconds) of every logged duration."""
    current = None
    with open(path, errors="replace") as log:
        for line in log:
            line = line.rstrip("\n")
            m = LINE.match(line)
            if m:
                if current:
                    yield current
                current = [m.group(4), m.group(6), float(m.group(3))]
            elif current and line.startswith(("\t", " ")):
                current[1] += " " + line.strip()
            elif current:
                yield current
                current = None
    if current:
        yield current


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    ops = float(sys.argv[2]) if len(sys.argv) > 2 else 1.0
    top = int(sys.argv[3]) if len(sys.argv) > 3 else 25
    totals = collections.defaultdict(lambda: [0, 0.0])
    for kind, text, ms in entries(sys.argv[1]):
        key = f"({kind})" if kind in ("parse", "bind") else re.sub(r"\s+", " ", text)[:140]
        totals[key][0] += 1
        totals[key][1] += ms
    all_ms = sum(ms for _, ms in totals.values())
    print(f"{all_ms:.0f} ms in {sum(n for n, _ in totals.values())} logged steps")
    print(f"{'total ms':>9} {'count':>7} {'per op':>7} {'mean us':>8}  statement")
    for key, (n, ms) in sorted(totals.items(), key=lambda kv: -kv[1][1])[:top]:
        print(f"{ms:9.0f} {n:7d} {n / ops:7.2f} {ms / n * 1000:8.0f}  {key}")


if __name__ == "__main__":
    main()
