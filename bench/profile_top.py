"""The top frames of a py-spy profile, by own time and by total time, as text.

Reads py-spy's raw output (`py-spy record --format raw`: one line per distinct stack,
frames root first, separated by ";", then the number of samples), so that a profile's top
frames can be pasted into an issue and compared before and after a change. Samples of
thread-pool workers waiting for work (py-spy counts them as active) are left out.

    .venv/bin/python bench/profile_top.py profile.txt [--top 15] [--full-paths]
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

# py-spy writes a frame as "function (path/to/file.py:line)".
FRAME = re.compile(r"^(?P<function>.*) \((?P<file>.*?)(?::(?P<line>\d+))?\)$")


def frame_name(frame: str, *, full_paths: bool) -> str:
    """`function (file)`, without the line, so one function's lines count as one frame."""
    match = FRAME.match(frame)
    if match is None:
        return frame
    file = match["file"]
    if not full_paths:
        file = re.sub(r"^.*/(site-packages|lib/python3\.\d+)/", "", file)
        file = re.sub(r"^/work/[^/]+/", "", file)
    return f"{match['function']} ({file})"


def waiting_for_work(frames: list[str]) -> bool:
    """An idle concurrent.futures worker: blocked in the C queue's get, under `_worker`."""
    return frames[-1].startswith("_worker (") and "concurrent/futures/thread.py" in frames[-1]


def read_stacks(path: Path, *, full_paths: bool) -> list[tuple[list[str], int]]:
    stacks = []
    for line in path.read_text().splitlines():
        text, _, count = line.rpartition(" ")
        if not text or not count.isdigit():
            continue
        frames = [frame_name(frame, full_paths=full_paths) for frame in text.split(";")]
        if not waiting_for_work(frames):
            stacks.append((frames, int(count)))
    return stacks


def print_threads(stacks: list[tuple[list[str], int]], samples: int) -> None:
    """The share of the main thread (the event loop) and of other threads."""
    main = sum(count for frames, count in stacks if not frames[0].startswith("Thread."))
    print(
        f"main thread {100 * main / samples:.1f}%, other threads {100 - 100 * main / samples:.1f}%"
    )


def top_frames(stacks: list[tuple[list[str], int]]) -> tuple[Counter, Counter, int]:
    """Samples per frame: as the innermost frame (own), and anywhere in the stack (total,
    once per stack however deep the recursion)."""
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    for frames, count in stacks:
        own[frames[-1]] += count
        for frame in set(frames):
            total[frame] += count
    return own, total, sum(count for _, count in stacks)


def print_top(title: str, counts: Counter, samples: int, top: int) -> None:
    print(f"\n{title} ({samples} samples)")
    for frame, count in counts.most_common(top):
        print(f"{100 * count / samples:6.1f}%  {frame}")


def main(arguments: argparse.Namespace) -> None:
    stacks = read_stacks(Path(arguments.profile), full_paths=arguments.full_paths)
    own, total, samples = top_frames(stacks)
    print_threads(stacks, samples)
    print_top("by own time", own, samples, arguments.top)
    print_top("by total time", total, samples, arguments.top)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("profile", help="py-spy record --format raw output")
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("--full-paths", action="store_true")
    main(parser.parse_args())
