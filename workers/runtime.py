"""The worker process's ``Runtime`` (pool, storage, process pool), opened once, lazily."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack

from heaters.pipeline.runtime import Runtime, open_runtime

_runtime: Runtime | None = None
_stack: AsyncExitStack | None = None
_lock = asyncio.Lock()


async def get_runtime() -> Runtime:
    """The shared runtime of this process (opened on first use)."""
    global _runtime, _stack
    async with _lock:
        if _runtime is None:
            _stack = AsyncExitStack()
            _runtime = await _stack.enter_async_context(open_runtime())
        return _runtime


async def close_runtime() -> None:
    """Close the runtime (pool, process pool) if it was opened."""
    global _runtime, _stack
    async with _lock:
        if _stack is not None:
            await _stack.aclose()
        _runtime, _stack = None, None
