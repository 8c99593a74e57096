#!/usr/bin/env python3
"""The dependency lock: write it from an environment, or check an environment against it.

    python scripts/lock.py write requirements.lock   # pin every installed distribution (update_lock.sh)
    python scripts/lock.py check requirements.lock   # every installed distribution the lock names is at
                                                     # its version (install.sh ends with this)
    python scripts/lock.py deps qwen,visual          # every requirement of Clipcite (with those extras),
                                                     # transitively, is installed and satisfied

`deps` is `pip check` narrowed to Clipcite's own dependency tree: an environment shared with other tools (a
system Python, conda) may hold packages whose pins clash with the lock, and that is their owner's business,
not a reason to refuse an install that is itself complete and consistent. Those clashes are printed as a
warning.

The lock is a pip constraints file (`pip install -c requirements.lock ...`): exact versions of every
dependency, transitive ones included, for Linux x86-64 and CPython 3.11. Local version labels are dropped
(`torch==2.13.0` accepts the CPU build and a CUDA build of the same release).
"""

from __future__ import annotations

import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path

SKIP = {"clipcite", "pip"}  # the project itself, and the installer


def _norm(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def installed() -> dict[str, tuple[str, str]]:
    """normalised name -> (name as published, version without a local label)."""
    out = {}
    for dist in metadata.distributions():
        name = dist.metadata["Name"]
        if name and _norm(name) not in SKIP:
            out[_norm(name)] = (name, dist.version.split("+", 1)[0])
    return out


def read(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            pins[_norm(name)] = version.strip()
    return pins


def write(path: Path) -> int:
    header = (f"# Clipcite's tested dependency set: pip constraints, every distribution pinned.\n"
              f"# Written by scripts/update_lock.sh on Python {platform.python_version()} "
              f"({platform.system()} {platform.machine()}) after the test suite passed.\n"
              f"# Install through scripts/install.sh; refresh with scripts/update_lock.sh.\n")
    lines = [f"{name}=={version}" for name, version in sorted(installed().values(), key=lambda nv: _norm(nv[0]))]
    path.write_text(header + "\n".join(lines) + "\n")
    sys.stdout.write(f"{path}: {len(lines)} pins\n")
    return 0


def check(path: Path) -> int:
    pins, have = read(path), installed()
    wrong = [f"{have[n][0]} {have[n][1]} (lock: {v})" for n, v in sorted(pins.items()) if n in have and have[n][1] != v]
    if wrong:
        sys.stderr.write("installed versions differ from " + str(path) + ":\n  " + "\n  ".join(wrong) + "\n")
        return 1
    sys.stdout.write(f"{sum(n in have for n in pins)} installed distributions match {path}\n")
    return 0


def deps(extras: str, root: str = "clipcite") -> int:
    from packaging.requirements import Requirement

    seen: set[str] = set()
    problems: list[str] = []
    todo = [(root, tuple(e for e in extras.split(",") if e))]
    while todo:
        name, wanted = todo.pop()
        key = _norm(name) + "[" + ",".join(sorted(wanted)) + "]"
        if key in seen:
            continue
        seen.add(key)
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            problems.append(f"{name} is not installed")
            continue
        for line in dist.requires or []:
            req = Requirement(line)
            envs = [{"extra": e} for e in wanted] or [{"extra": ""}]
            if req.marker is not None and not any(req.marker.evaluate(env) for env in envs):
                continue
            try:
                have = metadata.version(req.name)
            except metadata.PackageNotFoundError:
                problems.append(f"{dist.metadata['Name']} requires {req}, which is not installed")
                continue
            if req.specifier and not req.specifier.contains(have.split("+", 1)[0], prereleases=True):
                problems.append(f"{dist.metadata['Name']} requires {req}, but {req.name} {have} is installed")
            todo.append((req.name, tuple(req.extras)))
    if problems:
        sys.stderr.write("Clipcite's dependencies are not consistent:\n  " + "\n  ".join(problems) + "\n")
        return 1
    ours = {k.split("[", 1)[0] for k in seen}
    clash = subprocess.run([sys.executable, "-m", "pip", "check"], capture_output=True, text=True)
    foreign = [ln for ln in clash.stdout.splitlines() if ln.strip() and _norm(ln.split()[0]) not in ours] \
        if clash.returncode else []
    if foreign:
        sys.stderr.write("warning: packages outside Clipcite's tree disagree with it (not Clipcite's):\n  "
                         + "\n  ".join(foreign) + "\n")
    sys.stdout.write(f"{len(ours)} distributions in Clipcite's tree are consistent\n")
    return 0


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in ("write", "check", "deps"):
        sys.stderr.write(__doc__ or "")
        return 2
    if argv[0] == "deps":
        return deps(argv[1])
    return (write if argv[0] == "write" else check)(Path(argv[1]))


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
