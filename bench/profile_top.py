"""Summarise py-spy's collapsed stacks (`py-spy record --format raw`, as written by
`bench/registration_throughput.py --profile DIR`): where the server's samples went.

    uv run python bench/profile_top.py /tmp/prof/app-hot-50.txt [--top 40] [--match access]

Prints the share of samples per function *including* what it calls (each function counted
once per stack), then per function by its own samples. `--match` restricts the first list
to frames whose text contains the given words (e.g. `--match middleware,logging`).
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

LINE = re.compile(r"^(.*) (\d+)$")
FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^)]*?)(?::\d+)?\)$")


def short(frame: str) -> str:
    """`function (path/to/module.py:12)` -> `function (module path after site-packages)`."""
    match = FRAME.match(frame)
    if not match:
        return frame
    path = match["file"]
    for marker in ("site-packages/", "/work/main/", "lib/python3"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{match['func']} ({path})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--top", type=int, default=35)
    parser.add_argument("--match", default="", help="comma-separated words")
    args = parser.parse_args()
    words = [w for w in args.match.split(",") if w]
    for path in args.files:
        inclusive: Counter[str] = Counter()
        own: Counter[str] = Counter()
        total = 0
        for line in path.read_text().splitlines():
            match = LINE.match(line)
            if not match:
                continue
            count = int(match[2])
            frames = [short(f) for f in match[1].split(";")]
            total += count
            for frame in set(frames):
                inclusive[frame] += count
            own[frames[-1]] += count
        print(f"\n{path}: {total} samples")
        print("  inclusive:")
        shown = 0
        for frame, count in inclusive.most_common():
            if words and not any(w in frame for w in words):
                continue
            print(f"  {100 * count / total:5.1f}%  {frame}")
            shown += 1
            if shown >= args.top:
                break
        print("  own:")
        for frame, count in own.most_common(args.top):
            print(f"  {100 * count / total:5.1f}%  {frame}")


if __name__ == "__main__":
    main()
