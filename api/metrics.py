"""Prometheus text exposition at `/metrics`: request latency histograms plus gauges read at scrape time.

Hand-written rather than prometheus_client: a dozen series, and one less dependency for air-gapped
installs. Latency is recorded by a pure ASGI middleware (it sees streamed responses end, which
BaseHTTPMiddleware-style wrappers do not), labelled by the route template, never the raw path, so ids
do not explode the series count.
"""

from __future__ import annotations

import bisect
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from engine.catalog import JobState
from models.loading import load_seconds

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)


@dataclass
class _Histogram:
    counts: list[int] = field(default_factory=lambda: [0] * (len(BUCKETS) + 1))
    total: float = 0.0
    n: int = 0

    def observe(self, value: float) -> None:
        self.counts[bisect.bisect_left(BUCKETS, value)] += 1
        self.total += value
        self.n += 1


class RequestMetrics:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._hist: dict[tuple[str, str, str], _Histogram] = {}

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, str(status))
        with self._lock:
            self._hist.setdefault(key, _Histogram()).observe(seconds)

    def lines(self) -> list[str]:
        out = ["# HELP clipcite_request_seconds HTTP request latency by route template (to the last byte).",
               "# TYPE clipcite_request_seconds histogram"]
        with self._lock:
            items = sorted(self._hist.items())
            for (method, route, status), h in items:
                labels = f'method="{method}",route="{_esc(route)}",status="{status}"'
                cumulative = 0
                for bound, c in zip(BUCKETS, h.counts, strict=False):
                    cumulative += c
                    out.append(f'clipcite_request_seconds_bucket{{{labels},le="{bound}"}} {cumulative}')
                out.append(f'clipcite_request_seconds_bucket{{{labels},le="+Inf"}} {h.n}')
                out.append(f"clipcite_request_seconds_sum{{{labels}}} {h.total:.6f}")
                out.append(f"clipcite_request_seconds_count{{{labels}}} {h.n}")
        return out


def _esc(v: str) -> str:
    return v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class MetricsMiddleware:
    """Times every HTTP request from arrival to the end of its response body."""

    def __init__(self, app: Callable, metrics: RequestMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: dict[str, Any], receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        t0 = time.perf_counter()
        status = {"code": 500}

        async def _send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, _send)
        finally:
            self.metrics.observe(scope.get("method", "GET"), route_template(scope), status["code"],
                                 time.perf_counter() - t0)


def route_template(scope: dict[str, Any]) -> str:
    """`/v1/files/{file_id}` for `/v1/files/abc`. The matched route may belong to an included router and
    carry only its own part of the path, so the router prefix is recovered from the concrete path."""
    route = scope.get("route")
    path_format = getattr(route, "path_format", None) or getattr(route, "path", None)
    if not path_format:
        return "unmatched"
    try:
        rendered = path_format.format(**scope.get("path_params", {}))
    except (KeyError, IndexError, ValueError):
        return path_format
    path = scope.get("path", "")
    return path[: len(path) - len(rendered)] + path_format if path.endswith(rendered) else path_format


def render(svc: Any, requests: RequestMetrics) -> str:
    """The whole exposition: gauges from the catalog, store and worker (a counter where the value only
    grows), then the request histograms."""
    lines: list[str] = []

    def family(name: str, help_: str, samples: list[tuple[str, float]], kind: str = "gauge") -> None:
        lines.append(f"# HELP {name} {help_}")
        lines.append(f"# TYPE {name} {kind}")
        for labels, value in samples:
            lines.append(f"{name}{{{labels}}} {value}" if labels else f"{name} {value}")

    jobs = svc.catalog.jobs.counts()
    family("clipcite_ingest_jobs", "Ingest jobs by state.",
           [(f'state="{s}"', float(jobs.get(s, 0))) for s in JobState])
    family("clipcite_ingest_queue_depth", "Jobs queued or running.", [("", float(svc.catalog.jobs.depth()))])
    family("clipcite_segments_indexed", "Segment points in the vector store.", [("", float(svc.store.count()))])
    family("clipcite_video_seconds_indexed", "Seconds of video indexed (per collection entry).",
           [("", round(svc.catalog.library.indexed_video_seconds(), 3))])
    family("clipcite_model_load_seconds", "Wall time each model took to load (once, lazily).",
           [(f'role="{r}"', round(s, 4)) for r, s in sorted(load_seconds().items())])
    family("clipcite_chat_in_flight", "Chat requests admitted and not finished.", [("", float(svc.model.in_flight))])
    family("clipcite_model_slots_busy", "Model slots held (a lease whose thread has not finished counts).",
           [("", float(svc.model.busy))])
    family("clipcite_model_answers_total", "Requests the model worked for, read to the end or abandoned by their "
           "reader (engine.client_standing).",
           [(f'outcome="{k}"', float(v)) for k, v in svc.model.standing.answers.items()], kind="counter")
    prompts = getattr(svc.generator, "prompts", None)
    if prompts is not None:
        family("clipcite_prompt_states", "Saved prompt states and their bytes (engine.prompt_cache).",
               [('what="states"', float(len(prompts))), ('what="bytes"', float(prompts.nbytes)),
                ('what="hits"', float(prompts.hits)), ('what="tokens_not_reread"', float(prompts.tokens_saved))])
    lines.extend(requests.lines())
    return "\n".join(lines) + "\n"
