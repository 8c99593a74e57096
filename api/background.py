"""Model work that outlives its request (background responses, extraction and moment jobs): asyncio tasks
held by key on the app, so they are not garbage-collected mid-run, can be cancelled, and a job whose
task is gone (a restart) can tell and start it again."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request

from api.services import Services
from clipcite.errors import ClipciteError, Overloaded

log = logging.getLogger(__name__)


class Background:
    def __init__(self) -> None:
        self.tasks: dict[str, asyncio.Task] = {}

    @staticmethod
    def of(request: Request) -> Background:
        state = request.app.state
        if not hasattr(state, "background"):
            state.background = Background()
        return state.background

    def start(self, key: str, work: Coroutine[Any, Any, None]) -> None:
        """Run `work` unless a task under `key` is running already."""
        if key in self.tasks:
            work.close()
            return
        task = asyncio.create_task(work)
        self.tasks[key] = task
        task.add_done_callback(lambda _: self.tasks.pop(key, None))

    def running(self, key: str) -> bool:
        return key in self.tasks

    def cancel(self, key: str) -> None:
        task = self.tasks.get(key)
        if task is not None:
            task.cancel()


async def model_job(svc: Services, key: str, work: Callable[..., dict[str, Any]], *args: Any) -> None:
    """`work(*args)` under the model lease; its JSON result, or `{"error": ...}`, is stored under `key`.
    When the model is overloaded nothing is stored, so the next read of the job starts it again."""
    try:
        result = await svc.model.call(work, *args, deadline=False)  # no client waits on it
    except Overloaded:
        log.info("%s waits: the model is overloaded", key)
        return
    except ClipciteError as exc:
        result = {"error": exc.message}
    except Exception:  # noqa: BLE001 - reported on the job
        log.exception("%s failed", key)
        result = {"error": "internal error while running the job"}
    svc.catalog.stored.put_summary(key, result)
