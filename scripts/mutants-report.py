#!/usr/bin/env python3
"""Scores a `make mutants` run and checks that every surviving mutant is explained.

Reads what cargo-mutants wrote under target/mutants/<pass>/mutants.out/ and the list of
equivalent mutants in docs/mutants.md. Prints, for each pass and in total, how many viable
mutants the tests caught (a timeout counts as caught: the mutant made the tests hang), then
every missed mutant that docs/mutants.md does not list.

Exits 1 if fewer than 90% of the viable mutants were caught, or if any missed mutant is not
listed; 0 otherwise.

A mutant is listed when docs/mutants.md contains its file and description, without the
line and column (those move whenever the file is edited), in backticks, for example
`src/http/target.rs: replace | with ^ in percent_decode`.

Runs made with `--iterate` count the mutants an earlier run caught as caught.

Usage: scripts/mutants-report.py [PASS...]      (default: src grader)
"""

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = 90.0
LINE = re.compile(r"^(?P<path>[^:]+):\d+:\d+: (?P<what>.*)$")


def read(path):
    return [line for line in path.read_text().splitlines() if line.strip()] if path.exists() else []


def key(line):
    """The mutant's file and description, without line and column."""
    match = LINE.match(line)
    return f"{match['path']}: {match['what']}" if match else line


def main(passes):
    listed = (ROOT / "docs" / "mutants.md").read_text()
    total_viable = total_caught = 0
    unlisted = []
    missing = []
    for name in passes:
        out = ROOT / "target" / "mutants" / name / "mutants.out"
        if not out.is_dir():
            missing.append(name)
            continue
        caught, missed, timeout, unviable = (
            read(out / f"{kind}.txt") for kind in ("caught", "missed", "timeout", "unviable")
        )
        # After `--iterate`, the mutants an earlier run caught are not tested again but
        # listed in previously_caught.txt, together with the ones that did not build; the
        # earlier run's own lists, in mutants.out.old, tell the two apart.
        previously = read(out / "previously_caught.txt")
        if previously:
            old_unviable = set(read(out.parent / "mutants.out.old" / "unviable.txt"))
            unviable += [line for line in previously if line in old_unviable]
            caught += [line for line in previously if line not in old_unviable]
        viable = len(caught) + len(missed) + len(timeout)
        print(
            f"{name}: {viable} viable mutants ({len(unviable)} more did not build): "
            f"{len(caught)} caught, {len(timeout)} timed out, {len(missed)} missed"
        )
        total_viable += viable
        total_caught += len(caught) + len(timeout)
        unlisted += [line for line in missed if f"`{key(line)}`" not in listed]

    if missing:
        print(f"no results for: {', '.join(missing)} (run make mutants first)")
        return 1
    score = 100.0 * total_caught / total_viable if total_viable else 0.0
    print(f"caught {total_caught} of {total_viable} viable mutants: {score:.1f}% (target {TARGET:.0f}%)")
    if unlisted:
        print(f"{len(unlisted)} missed mutants are not listed in docs/mutants.md:")
        for line in unlisted:
            print(f"  {line}")
    else:
        print("every missed mutant is listed in docs/mutants.md with the reason it survives")
    return 0 if score >= TARGET and not unlisted else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or ["src", "grader"]))
