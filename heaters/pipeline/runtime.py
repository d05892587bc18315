"""What a stage needs at hand: settings, the database, storage, the process pool, temp files."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

from heaters.children import mark_worker, pool_child
from heaters.config import Settings, get_settings
from heaters.db import Database
from heaters.pipeline.tmp import TempRoot
from heaters.storage import Storage, storage_from_url

T = TypeVar("T")


@dataclass
class Runtime:
    """Shared resources of one worker process."""

    settings: Settings
    db: Database
    storage: Storage
    executor: Executor
    tmp: TempRoot

    async def run_sync(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a blocking, CPU-bound function in the process pool (never on the event loop)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, partial(fn, *args, **kwargs))


class _Pool(ProcessPoolExecutor):
    """A process pool whose processes are started with SIGINT blocked: one still starting
    (importing, before :func:`heaters.children.pool_child` handles SIGINT) when a Ctrl-C
    reaches the process group would otherwise die of ``KeyboardInterrupt`` with a traceback.
    The signal stays pending in it until handled; in this process it is delivered once the
    start is done."""

    def _spawn_process(self) -> None:
        old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            super()._spawn_process()  # type: ignore[misc]
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, old)


def make_process_pool(size: int | None) -> ProcessPoolExecutor:
    """A ``spawn`` process pool (no forked event loop or DB connections in the children).

    Each pool process is killed by the kernel when this process dies, even by SIGKILL, and
    exits quietly on SIGINT (:func:`heaters.children.pool_child`).
    """
    return _Pool(
        max_workers=size,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=pool_child,
        initargs=(os.getpid(),),
    )


@asynccontextmanager
async def open_runtime(settings: Settings | None = None) -> AsyncIterator[Runtime]:
    """Open the pool, the storage and the process pool; clean dead workers' temp folders.

    This process is marked as a worker first (:func:`heaters.children.mark_worker`), so
    whatever it starts can be found and killed by the next worker should it die uncleanly;
    :meth:`TempRoot.clean_dead` kills what dead workers left running, then removes their
    folders.
    """
    settings = settings or get_settings()
    mark_worker()
    storage = storage_from_url(settings.storage_url or f"file://{settings.storage_root}")
    tmp = TempRoot(settings.tmp_root)
    tmp.clean_dead()
    executor = make_process_pool(settings.process_pool_size)
    try:
        async with Database.connect() as db:
            yield Runtime(settings=settings, db=db, storage=storage, executor=executor, tmp=tmp)
    finally:
        executor.shutdown(wait=False, cancel_futures=True)
        aclose = getattr(storage, "aclose", None)
        if aclose is not None:
            await aclose()
