"""Where CPU work runs off the event loop: the one CPU thread, worker-process pools, and the offload functions.

Parsing, scoring and article extraction are pure Python and hold the GIL, so the event loop
hands them to ``in_thread`` (one thread for the whole process) or, in passes big enough to
need more than one core, to a pool of worker processes through ``in_pool``. Both are
``Offload`` functions: ``await cpu(func, *args, **kwargs)``.
"""

from __future__ import annotations

import asyncio
import functools
import multiprocessing
from collections.abc import Awaitable, Callable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any

from .lifeline import die_with_parent

__all__ = ["WORKER_MODULES", "Offload", "in_pool", "in_thread", "process_pool"]

Offload = Callable[..., Awaitable[Any]]

#: The modules whose functions worker processes run, imported once by the forkserver
#: so that each worker starts with them (and the scorer) loaded; lifeline first, which
#: binds the forkserver's life to the harvester's.
WORKER_MODULES = ["harvester.lifeline", "harvester.items", "harvester.scores"]

# One thread for all CPU work outside the event loop: parsing and extraction hold
# the GIL anyway, and feedparser (expat) and trafilatura (a module-level lxml
# parser) must never run concurrently in one process.
_CPU_THREAD = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hypewatch-cpu")


async def in_thread(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run ``func`` in the process's one CPU thread and wait for it without blocking the event loop."""
    return await asyncio.get_running_loop().run_in_executor(_CPU_THREAD, functools.partial(func, *args, **kwargs))


def in_pool(pool: ProcessPoolExecutor) -> Offload:
    """An ``Offload`` that runs each call in one of ``pool``'s worker processes (``func`` must be module level)."""
    async def offload(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(pool, functools.partial(func, *args, **kwargs))
    return offload


def process_pool(workers: int) -> ProcessPoolExecutor:
    """``workers`` worker processes, started by a forkserver that has imported ``WORKER_MODULES``.

    Starting them costs about a second, so callers only ask for a pool when there is
    enough work to pay for it.
    """
    # forkserver: forking a process that already runs threads (asyncio's
    # to_thread pool, the scheduler) can copy a held lock into the child.
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(WORKER_MODULES)
    # Workers die with the forkserver, the forkserver with us (see lifeline): a harvester
    # killed with SIGKILL leaves no process behind.
    return ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=die_with_parent)
