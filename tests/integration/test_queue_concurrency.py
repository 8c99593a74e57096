"""Concurrent claims on a real PostgreSQL never double-process: 100 queued jobs, 4 worker processes each
running the real `IngestWorker` (claim under lease, heartbeat, finish by the lease holder) with the model
work replaced by a short sleep. Every job runs exactly once and ends completed."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections import Counter
from pathlib import Path

import pytest

from engine.catalog import Catalog, JobState

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]

WORKER = textwrap.dedent("""
    import json, sys, time
    import ingest.jobs as jobs
    from engine.catalog import Catalog

    url, out = sys.argv[1], sys.argv[2]
    ran = []

    def run_job(ctx, job, progress=None):
        ran.append(job.file_id)
        progress("speech", 0.5)
        time.sleep(0.02)
        return 1

    jobs.run_job = run_job
    cat = Catalog(url, lease_seconds=5)
    worker = jobs.IngestWorker(jobs.IngestContext(cat, None, None, None), workers=2, poll_seconds=0.05)
    while not cat.jobs.depth():  # the test queues the jobs after starting every process
        time.sleep(0.05)
    worker.start()
    while cat.jobs.depth():
        time.sleep(0.1)
    worker.stop()
    open(out, "w").write(json.dumps(ran))
""")


def test_four_workers_claim_a_hundred_jobs_each_exactly_once(pg_database, tmp_path):
    cat = Catalog(pg_database)
    outs = [tmp_path / f"w{i}.json" for i in range(4)]
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, pg_database, str(o)], cwd=ROOT,
                              env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}) for o in outs]
    try:
        with cat.transaction():  # all at once, so the four start on a full queue
            ids = {cat.jobs.enqueue("c1", f"f{i:03d}"): f"f{i:03d}" for i in range(100)}
        for p in procs:
            assert p.wait(180) == 0
    finally:
        for p in procs:
            p.kill()
    ran = [fid for o in outs for fid in json.loads(o.read_text())]
    per_worker = [len(json.loads(o.read_text())) for o in outs]
    assert Counter(ran) == Counter(ids.values())  # each job ran once, none was lost
    assert sum(1 for n in per_worker if n) >= 2, per_worker  # the claims really were concurrent
    assert {cat.jobs.state(j) for j in ids} == {JobState.COMPLETED}
    cat.close()
