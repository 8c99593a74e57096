#!/usr/bin/env python3
"""The dependency lock: write it from an environment, or check an environment against it.

    python scripts/lock.py write requirements.lock   # pin every installed distribution (update_lock.sh)
    python scripts/lock.py check requirements.lock   # every installed distribution the lock names is at
                                                     # its version (install.sh ends with this)

The lock is a pip constraints file (`pip install -c requirements.lock ...`): exact versions of every
dependency, transitive ones included, for Linux x86-64 and CPython 3.11. Local version labels are dropped
(`torch==2.13.0` accepts the CPU build and a CUDA build of the same release).
"""

from __future__ import annotations

import platform
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


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in ("write", "check"):
        sys.stderr.write(__doc__ or "")
        return 2
    return (write if argv[0] == "write" else check)(Path(argv[1]))


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
