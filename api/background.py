"""Model work that outlives its request (background responses, extraction and moment jobs): asyncio tasks
held by key on the app, so they are not garbage-collected mid-run, can be cancelled, and a job whose
task is gone (a restart) can tell and start it again."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

from fastapi import Request

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
