"""The multi-machine shape on one box, with real processes and a real PostgreSQL: an API server owning the
embedded store (`clipcite serve --no-worker`), two `clipcite worker` processes sending it their segments,
and a second API replica on the in-memory Qdrant stand-in, all on one database. Uploads through the API
are indexed by the workers; a worker killed with -9 mid-job loses its lease and the other finishes the
job, once; both replicas list the same library."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from engine.catalog import Catalog, JobState
from tests.conftest import MODELS_CACHE, LiveServer, free_port, make_settings
from tests.media import Scene, espeak_available, make_video

pytestmark = pytest.mark.integration

LEASE_S = 5.0  # short, so the kill test waits little; heartbeats come every LEASE_S / 3
ROOT = Path(__file__).resolve().parents[2]


def _env(database_url: str, media: Path, **extra: str) -> dict[str, str]:
    env = {**os.environ, "CLIPCITE_DATABASE_URL": database_url, "CLIPCITE_MEDIA_DIR": str(media),
           "CLIPCITE_MODELS_DIR": str(MODELS_CACHE), "CLIPCITE_CHAT_MODEL": "smollm2-135m-instruct",
           "CLIPCITE_WHISPER_MODEL": "tiny.en", "CLIPCITE_N_CTX": "2048", "CLIPCITE_JOB_LEASE_SECONDS": str(LEASE_S),
           "CLIPCITE_THREADS": "1", "PYTHONPATH": str(ROOT)}
    env.update(extra)
    return env


class Proc:
    """A `clipcite ...` subprocess with its log in a file (shown when a test fails)."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], logs: Path) -> None:
        self.name = name
        self.log = logs / f"{name}.log"
        self.handle = self.log.open("w")
        self.popen = subprocess.Popen([sys.executable, "-m", "api.cli", "--log-level", "INFO", *args], env=env,
                                      stdout=self.handle, stderr=subprocess.STDOUT, cwd=ROOT)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(60)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        self.handle.close()


def _wait_http(url: str, proc: Proc, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.popen.poll() is None, f"{proc.name} exited:\n{proc.tail()}"
        try:
            if httpx.get(url + "/health", timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"{proc.name} did not start:\n{proc.tail()}")


@pytest.fixture(scope="module")
def cluster(postgres_url, tmp_path_factory):
    from tests.postgres import fresh_database

    if not espeak_available():
        pytest.skip("needs espeak-ng (apt-get install espeak-ng)")
    database = fresh_database(postgres_url, "deployment")
    base = tmp_path_factory.mktemp("deployment")
    media, logs = base / "shared-media", base / "logs"
    media.mkdir()
    logs.mkdir()
    port = free_port()
    api_url = f"http://127.0.0.1:{port}"
    api = Proc("api", ["serve", "--no-worker", "--port", str(port), "--data-dir", str(base / "api")],
               _env(database, media), logs)
    procs = [api]
    try:
        _wait_http(api_url, api)
        workers = [Proc(f"worker{i}", ["worker", "--api", api_url, "--data-dir", str(base / f"worker{i}")],
                        _env(database, media), logs) for i in (1, 2)]
        procs += workers
        catalog = Catalog(database)  # the test's own view of the shared queue
        yield {"api": api, "url": api_url, "workers": workers, "database": database, "media": media, "base": base,
               "catalog": catalog}
        catalog.close()
    finally:
        for p in procs:
            p.stop()


def _video(dirpath: Path, name: str, scenes: list[Scene]) -> Path:
    path = dirpath / name
    if not path.exists():
        make_video(path, scenes)
    return path


def _upload(client: httpx.Client, coll: str, path: Path) -> str:
    with path.open("rb") as fh:
        f = client.post("/v1/files", files={"file": (path.name, fh, "video/mp4")}).json()
    r = client.post(f"/v1/collections/{coll}/videos", json={"file_id": f["id"]})
    assert r.status_code in (200, 201), r.text
    return f["id"]


def _wait_done(client: httpx.Client, coll: str, fid: str, cluster: dict, timeout: float = 420) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        entry = client.get(f"/v1/collections/{coll}/videos/{fid}").json()
        if entry["status"] in ("completed", "failed"):
            return entry
        time.sleep(0.5)
    logs = "\n".join(f"--- {p.name}\n{p.tail()}" for p in [cluster["api"], *cluster["workers"]])
    raise AssertionError(f"{fid} not indexed in {timeout} s:\n{logs}")


def _jobs_of(cat: Catalog, fid: str) -> list[dict]:
    rows = cat.db.q("SELECT id FROM jobs WHERE file_id=? ORDER BY created_at", (fid,))
    return [cat.jobs.get(r[0]) for r in rows]


def _owner_pid(owner: str | None) -> int | None:
    return int(owner.split(":")[1]) if owner else None


def test_uploads_through_the_api_are_indexed_by_the_workers(cluster, tmp_path_factory):
    videos = tmp_path_factory.mktemp("deploy-media")
    a = _video(videos, "crane_schedule.mp4", [Scene((40, 90, 140), text="CRANE 7",
                                                      say="The crane inspection is booked for Thursday at nine.")])
    b = _video(videos, "canteen_notice.mp4", [Scene((140, 60, 40), text="MENU",
                                                      say="The canteen serves lentil soup every Friday.")])
    with httpx.Client(base_url=cluster["url"], timeout=60) as client:
        coll = client.post("/v1/collections", json={"name": "shared", "collection_type": "media-descriptions"}).json()
        fids = [_upload(client, coll["id"], p) for p in (a, b)]
        entries = [_wait_done(client, coll["id"], fid, cluster) for fid in fids]
        assert [e["status"] for e in entries] == ["completed", "completed"], entries
        hits = client.post("/v1/search", json={"query": "crane inspection Thursday", "collections": [coll["id"]],
                                               "limit": 3}).json()
        assert hits["results"] and hits["results"][0]["file_id"] == fids[0], hits
    # The media sit in the shared media dir; every job was run by a worker process, none by the API.
    assert all(Path(cluster["media"], f"{fid}.mp4").exists() for fid in fids)
    worker_pids = {w.pid for w in cluster["workers"]}
    for fid in fids:
        jobs = _jobs_of(cluster["catalog"], fid)
        assert [j["state"] for j in jobs] == [str(JobState.COMPLETED)]
        assert _owner_pid(jobs[0]["lease_owner"]) in worker_pids


def test_a_second_replica_on_the_same_database_lists_the_same_library(cluster):
    settings = make_settings(cluster["base"] / "replica", database_url=cluster["database"], store="qdrant",
                             qdrant_url=":memory:", run_worker=False, media_dir=cluster["media"])
    with LiveServer(settings) as replica, httpx.Client(timeout=30) as client:
        urls = (cluster["url"], replica.url)
        listings = [client.get(f"{url}/v1/files", params={"limit": 100}).json() for url in urls]
        collections = [client.get(f"{url}/v1/collections").json() for url in urls]
    assert listings[0]["data"], "the first test uploaded files"
    assert [f["id"] for f in listings[0]["data"]] == [f["id"] for f in listings[1]["data"]]
    assert [c["id"] for c in collections[0]["data"]] == [c["id"] for c in collections[1]["data"]]


def test_clipcite_index_can_only_queue_and_wait_for_the_workers(cluster, tmp_path_factory):
    """`clipcite index --no-worker` opens no store and loads no model: the workers index what it queues."""
    folder = tmp_path_factory.mktemp("deploy-feed")
    _video(folder, "feeder_notice.mp4", [Scene((90, 30, 140), text="GATE 3",
                                               say="Visitors sign in at gate three before noon.")])
    feeder = subprocess.run([sys.executable, "-m", "api.cli", "index", str(folder), "--collection", "fed",
                             "--no-worker", "--data-dir", str(cluster["base"] / "feeder")],
                            env=_env(cluster["database"], cluster["media"]), cwd=ROOT, capture_output=True,
                            text=True, timeout=420)
    assert feeder.returncode == 0, feeder.stdout + feeder.stderr
    assert "1 indexed" in feeder.stderr, feeder.stderr
    with httpx.Client(base_url=cluster["url"], timeout=60) as client:
        (coll,) = [c for c in client.get("/v1/collections").json()["data"] if c["name"] == "fed"]
        (entry,) = client.get(f"/v1/collections/{coll['id']}/videos").json()["data"]
    assert entry["status"] == "completed" and entry["segment_count"] > 0
    assert not (cluster["base"] / "feeder" / "store").exists()  # the feeder never opened a store


def test_a_worker_killed_mid_job_loses_its_lease_and_the_other_finishes_it(cluster, tmp_path_factory):
    videos = tmp_path_factory.mktemp("deploy-kill")
    path = _video(videos, "long_briefing.mp4", [
        Scene((60, 60, 120), text="DOCK 4", say="Deliveries for the north warehouse arrive at dock four."),
        Scene((30, 120, 60), text="SHIFT B", say="The late shift starts at six and ends at two in the morning."),
        Scene((120, 30, 60), text="FIRE DRILL", say="The next fire drill is on the first Tuesday of March.")])
    with httpx.Client(base_url=cluster["url"], timeout=60) as client:
        coll = client.post("/v1/collections", json={"name": "kill", "collection_type": "media-descriptions"}).json()
        fid = _upload(client, coll["id"], path)
        deadline = time.monotonic() + 120
        victim = None
        while victim is None:  # the job is claimed by one of the workers
            assert time.monotonic() < deadline, "no worker claimed the job"
            jobs = _jobs_of(cluster["catalog"], fid)
            if jobs and jobs[-1]["state"] == str(JobState.RUNNING):
                victim = next(w for w in cluster["workers"] if w.pid == _owner_pid(jobs[-1]["lease_owner"]))
            time.sleep(0.1)
        os.kill(victim.pid, signal.SIGKILL)
        victim.popen.wait(10)
        entry = _wait_done(client, coll["id"], fid, cluster)
        assert entry["status"] == "completed", entry
        segs = client.get(f"/v1/files/{fid}/segments", params={"limit": 100}).json()["data"]
    survivor = next(w for w in cluster["workers"] if w is not victim)
    (job,) = _jobs_of(cluster["catalog"], fid)
    assert job["state"] == str(JobState.COMPLETED) and job["attempts"] == 2  # claimed twice, completed once
    assert _owner_pid(job["lease_owner"]) == survivor.pid
    ids = [s["id"] for s in segs]
    assert len(ids) == entry["segment_count"] == len(set(ids)) > 0  # no segment written twice


def test_the_direct_path_workers_write_to_the_qdrant_server_themselves(postgres_url, tmp_path_factory):
    """With a Qdrant server (qdrant-client's in-process `:memory:` stand-in) a worker writes its points
    straight into it; the queue and catalog are PostgreSQL's as before."""
    from tests.postgres import fresh_database

    if not espeak_available():
        pytest.skip("needs espeak-ng (apt-get install espeak-ng)")
    base = tmp_path_factory.mktemp("direct")
    path = _video(base, "boiler_room.mp4", [Scene((50, 50, 150), text="BOILER",
                                                   say="The boiler room key hangs behind the blue door.")])
    settings = make_settings(base / "data", database_url=fresh_database(postgres_url, "direct"), store="qdrant",
                             qdrant_url=":memory:", job_lease_seconds=LEASE_S)
    with LiveServer(settings) as srv, httpx.Client(base_url=srv.url, timeout=60) as client:
        coll = client.post("/v1/collections", json={"name": "direct", "collection_type": "media-descriptions"}).json()
        fid = _upload(client, coll["id"], path)
        deadline = time.monotonic() + 300
        while (entry := client.get(f"/v1/collections/{coll['id']}/videos/{fid}").json())["status"] not in (
                "completed", "failed"):
            assert time.monotonic() < deadline, entry
            time.sleep(0.5)
        assert entry["status"] == "completed" and entry["segment_count"] > 0, entry
        hits = client.post("/v1/search", json={"query": "boiler room key", "collections": [coll["id"]],
                                               "limit": 1}).json()
        assert hits["results"][0]["file_id"] == fid
        (job,) = _jobs_of(srv.services.catalog, fid)
        assert job["state"] == str(JobState.COMPLETED) and job["lease_owner"] == srv.services.worker.owner
