"""Shared fixtures: a real server (uvicorn in a thread) with real small models, and the log guard.

Models: Whisper tiny.en, MiniLM and SmolLM2-135M from their registry packages; nothing is downloaded.
Split weights are assembled into one cache directory shared by the whole test session.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(autouse=True, scope="session")
def no_outbound_sockets():
    """Air-gap guard: any connection to a non-loopback address fails the test run loudly."""
    import ipaddress

    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex

    def allowed(sock, address) -> bool:
        if sock.family == getattr(socket, "AF_UNIX", None):
            return True
        host = address[0] if isinstance(address, tuple) else address
        if host in ("localhost",):
            return True
        try:
            return ipaddress.ip_address(host).is_loopback
        except ValueError:
            return False

    def connect(sock, address):
        if not allowed(sock, address):
            raise AssertionError(f"outbound connection attempted to {address!r}")
        return real_connect(sock, address)

    def connect_ex(sock, address):
        if not allowed(sock, address):
            raise AssertionError(f"outbound connection attempted to {address!r}")
        return real_connect_ex(sock, address)

    socket.socket.connect, socket.socket.connect_ex = connect, connect_ex
    yield
    socket.socket.connect, socket.socket.connect_ex = real_connect, real_connect_ex


@pytest.fixture(autouse=True)
def no_logs_gte_error(caplog):
    """Any test during which something logged ERROR fails (PySceneDetect's tests do the same)."""
    caplog.set_level(logging.WARNING)
    yield
    errors = [r for r in caplog.get_records("call") if r.levelno >= logging.ERROR]
    assert not errors, "logged errors: " + "; ".join(f"{r.name}: {r.getMessage()}" for r in errors)


MODELS_CACHE = Path(os.environ.get("CLIPCITE_TEST_MODELS_DIR", Path.home() / ".cache" / "clipcite-test-models"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    def __init__(self, settings) -> None:
        import uvicorn

        from api.app import create_app

        self.settings = settings
        self.app = create_app(settings)
        self.port = settings.port
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.time() + 120
        while not self.server.started:
            if time.time() > deadline or not self.thread.is_alive():
                raise RuntimeError("test server did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(60)

    @property
    def services(self):
        return self.app.state.services


def make_settings(data_dir: Path, **overrides):
    from clipcite.settings import Settings

    base = dict(data_dir=data_dir, port=free_port(), models_dir=MODELS_CACHE, chat_model="smollm2-135m-instruct",
                whisper_model="tiny.en", n_ctx=2048, max_answer_tokens=48, segment_seconds=20.0)
    base.update(overrides)
    return Settings(**base)


@pytest.fixture(scope="session")
def live_server(tmp_path_factory):
    with LiveServer(make_settings(tmp_path_factory.mktemp("data"))) as srv:
        yield srv


@pytest.fixture(scope="session")
def qwen_server(tmp_path_factory):
    """The default models (Qwen2.5 1.5B; Whisper routed by language): for what SmolLM2 cannot do (cite, call
    tools unforced, answer in the asker's language)."""
    settings = make_settings(tmp_path_factory.mktemp("qwen-data"), chat_model="qwen2.5-coder-1.5b-instruct-q4_k_m",
                             n_ctx=4096, max_answer_tokens=64, whisper_model="auto")
    with LiveServer(settings) as srv:
        yield srv


@pytest.fixture(scope="session")
def cg(live_server):
    """The official cloudglue SDK pointed at the shared test server."""
    from cloudglue import Cloudglue

    return Cloudglue(api_key="local", host=f"{live_server.url}/v1")


@pytest.fixture(scope="session")
def uploaded(cg, briefing_video, tmp_path_factory):
    """A copy of the briefing video uploaded to the shared server once: (file object, scene windows). Other
    bytes than the briefing itself (16 trailing zero bytes), so it is its own file: tests that upload the
    briefing with metadata get their own record whatever runs first."""
    path, windows = briefing_video
    copy = tmp_path_factory.mktemp("uploaded") / "warehouse_briefing.mp4"
    copy.write_bytes(path.read_bytes() + b"\0" * 16)
    return cg.files.upload(str(copy), wait_until_finish=True, poll_interval=1), windows


@pytest.fixture(scope="session")
def briefing_video(tmp_path_factory):
    """The two-scene warehouse briefing (tests/media.py TWO_SCENES): (path, scene windows). Built once."""
    from tests.media import TWO_SCENES, espeak_available, make_video

    if not espeak_available():
        pytest.skip("needs espeak-ng (apt-get install espeak-ng)")
    path = tmp_path_factory.mktemp("media") / "warehouse_briefing.mp4"
    return path, make_video(path, TWO_SCENES)


@pytest.fixture(scope="session")
def postgres_url():
    """One real PostgreSQL server for the session (see tests/postgres.py); skipped where none is installed."""
    from tests.postgres import pg_bindir, postgres_server

    if pg_bindir() is None:
        pytest.skip("PostgreSQL is not installed (apt install postgresql)")
    with postgres_server() as url:
        yield url


@pytest.fixture()
def pg_database(postgres_url, request):
    """An empty database of its own for one test, on the session's server."""
    import re

    from tests.postgres import fresh_database

    name = "t_" + re.sub(r"\W", "_", request.node.name.lower())[:50] + f"_{os.getpid()}_{time.monotonic_ns() % 10**6}"
    return fresh_database(postgres_url, name)
