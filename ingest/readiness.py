"""Start-up checks: every enabled model is loaded and run once on a tiny input before any work is taken.

Why: a broken environment (a package upgraded under the code, a missing wheel, damaged weights) used to
surface inside ingest jobs, one failed video at a time, while `/health` said ok: on a fresh install that
resolved OpenCV 5 every upload ended `failed`. Checked here, the same breakage stops `clipcite worker` and
`clipcite index` before they claim a job (and keeps `clipcite serve` from starting its workers) with a
message naming the package and the version Clipcite is tested with (`requirements.lock`); `clipcite doctor`
prints the whole table. A job that still meets an environment failure goes back to the queue instead of
failing its file, and the process reports `degraded` until the checks pass again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Literal

import numpy as np

log = logging.getLogger(__name__)

LOCK_FILE = Path(__file__).resolve().parents[1] / "requirements.lock"  # beside pyproject.toml in a checkout


@dataclass(frozen=True)
class Check:
    """One model (or stage) to load and run once: `run()` raises on failure and returns a short detail
    (the file it loaded, the device) for `clipcite doctor`."""

    name: str
    packages: tuple[str, ...]  # distributions it needs: named, with the tested versions, when it fails
    run: Callable[[], str]


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    seconds: float
    detail: str
    versions: tuple[tuple[str, str | None], ...]  # (distribution, installed version or None)
    error: str = ""
    fix: str = ""

    @property
    def message(self) -> str:
        return f"{self.name}: {self.error}" + (f" ({self.fix})" if self.fix else "")


def installed_version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def locked_versions(path: Path = LOCK_FILE) -> dict[str, str]:
    """Tested versions by normalised distribution name, from the lock (empty outside a checkout)."""
    out: dict[str, str] = {}
    if not path.is_file():
        return out
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            out[_norm(name.split("[", 1)[0])] = version.strip().split(";", 1)[0].strip()
    return out


def _norm(dist: str) -> str:
    return dist.lower().replace("_", "-").replace(".", "-")


def fix_for(packages: Iterable[str], locked: dict[str, str] | None = None) -> str:
    """"pip install 'a==1.2' 'b==3.4'": the packages a check runs on, at the versions Clipcite is tested with
    (the lock's; the installed one where the lock does not name it)."""
    locked = locked_versions() if locked is None else locked
    wanted = []
    for dist in packages:
        version = locked.get(_norm(dist)) or installed_version(dist)
        wanted.append(f"'{dist}=={version}'" if version else dist)
    return "install the tested versions: pip install " + " ".join(wanted) if wanted else ""


def run_checks(checks: Iterable[Check]) -> list[CheckResult]:
    """Each check once, in order; a failure is recorded with its fix and the next check still runs."""
    locked = locked_versions()
    results = []
    for check in checks:
        versions = tuple((p, installed_version(p)) for p in check.packages)
        t0 = time.perf_counter()
        try:
            detail = check.run()
        except Exception as exc:  # noqa: BLE001 - every failure is reported, with its fix
            error = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
            results.append(CheckResult(check.name, False, time.perf_counter() - t0, "", versions, error,
                                       fix_for(check.packages, locked)))
            log.debug("start-up check %s failed", check.name, exc_info=True)
            continue
        results.append(CheckResult(check.name, True, time.perf_counter() - t0, detail, versions))
    return results


State = Literal["starting", "ok", "degraded"]


@dataclass
class Readiness:
    """What `/health` says: `starting` until the checks first pass, then `ok`; `degraded` (with the
    reasons) while a model cannot load. Thread-safe; `wait_ready` blocks a worker until `ok`."""

    state: State = "starting"
    reasons: list[str] = field(default_factory=list)
    results: list[CheckResult] = field(default_factory=list)
    _cond: threading.Condition = field(default_factory=threading.Condition, repr=False)

    def record(self, results: list[CheckResult]) -> bool:
        failed = [r.message for r in results if not r.ok]
        with self._cond:
            self.results = results
            self.state, self.reasons = ("degraded", failed) if failed else ("ok", [])
            self._cond.notify_all()
        return not failed

    def degrade(self, reason: str) -> None:
        with self._cond:
            self.state, self.reasons = "degraded", [reason]
            self._cond.notify_all()

    def wait_ready(self, timeout: float) -> bool:
        with self._cond:
            self._cond.wait_for(lambda: self.state == "ok", timeout)
            return self.state == "ok"


# --- tiny inputs the checks run their models on ---------------------------------------------------------

def tiny_audio(seconds: float = 1.6, rate: int = 16000) -> np.ndarray:
    """Quiet noise: enough samples for every audio model's window, nothing any of them will transcribe."""
    return (np.random.default_rng(0).standard_normal(int(seconds * rate)) * 0.01).astype(np.float32)


def tiny_frame(text: bool = False) -> np.ndarray:
    """A 160x96 BGR frame (grey, with a dark bar a text detector may find) in the keyframes' format."""
    frame = np.full((96, 160, 3), 200, np.uint8)
    if text:
        frame[40:56, 20:140] = 30
    return frame
