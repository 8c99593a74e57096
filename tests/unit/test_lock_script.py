"""scripts/lock.py: the install's dependency check covers Clipcite's tree, not a shared Python's other tools."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location("lock_script", Path(__file__).parents[2] / "scripts" / "lock.py")
assert _spec and _spec.loader
lock = importlib.util.module_from_spec(_spec)
sys.modules["lock_script"] = lock
_spec.loader.exec_module(lock)


def test_a_missing_root_is_reported(capsys: pytest.CaptureFixture[str]) -> None:
    assert lock.deps("", root="no-such-distribution-anywhere") == 1
    assert "not installed" in capsys.readouterr().err


def test_an_unsatisfied_requirement_in_the_tree_fails(monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    real_version = lock.metadata.version
    monkeypatch.setattr(lock.metadata, "version",
                        lambda name: "0.0.1" if lock._norm(name) == "packaging" else real_version(name))
    assert lock.deps("test", root="clipcite") == 1  # pytest needs packaging, which now looks ancient
    assert "packaging 0.0.1 is installed" in capsys.readouterr().err


def test_the_installed_tree_is_consistent(capsys: pytest.CaptureFixture[str]) -> None:
    assert lock.deps("test", root="clipcite") == 0, capsys.readouterr().err
