"""The one lazy-loader: built once under concurrency, timed, and a missing package or file is ModelUnavailable."""

import threading

import pytest

from clipcite.errors import ModelUnavailable
from models.loading import Lazy, load_seconds, require_file


def test_built_once_even_when_asked_from_many_threads():
    calls = []

    def build():
        calls.append(1)
        return object()

    lazy = Lazy("unit-test", build)
    got = []
    threads = [threading.Thread(target=lambda: got.append(lazy.get())) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1 and len({id(g) for g in got}) == 1 and lazy.loaded
    assert "unit-test" in load_seconds()
    assert lazy.clear() is got[0] and not lazy.loaded


def test_missing_package_names_the_fix():
    def build():
        import clipcite_no_such_package  # noqa: F401

    with pytest.raises(ModelUnavailable, match="clipcite_no_such_package: pip install it"):
        Lazy("demo", build, "pip install it").get()


def test_missing_weights_file_is_model_unavailable(tmp_path):
    def build():
        return open(tmp_path / "weights.bin", "rb")

    with pytest.raises(ModelUnavailable, match="demo model could not be loaded"):
        Lazy("demo", build).get()
    with pytest.raises(ModelUnavailable, match="chat model file not found"):
        require_file(tmp_path / "x.gguf", "chat model file")
    assert require_file(tmp_path, "dir") == tmp_path


def test_other_errors_pass_through():
    def build():
        raise ZeroDivisionError

    with pytest.raises(ZeroDivisionError):
        Lazy("demo", build).get()
