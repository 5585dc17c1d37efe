"""Worker processes die with their parent: the forkserver with the harvester, pool workers with the forkserver.

A harvester killed with SIGKILL (an OOM kill) runs no cleanup, and multiprocessing's helpers
then wait on pipes that other helpers keep open: the forkserver, the resource tracker and the
pool workers lived on for minutes. On Linux each helper asks the kernel for SIGKILL when its
parent goes (prctl PR_SET_PDEATHSIG); elsewhere a daemon thread polls ``os.getppid()``. The
resource tracker then sees its pipe close and exits by itself.

The forkserver imports this module first (``workers.WORKER_MODULES``), and an import made by
the forkserver's own start-up, and only that one, binds the forkserver to the harvester that
started it. Pool workers call ``die_with_parent`` as their initializer.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time

__all__ = ["die_with_parent"]

_PR_SET_PDEATHSIG = 1
_POLL_SECONDS = 1.0


def die_with_parent(parent: int | None = None) -> None:
    """Have this process killed as soon as its parent (``parent``, if known) is gone."""
    parent = os.getppid() if parent is None else parent
    if not _kernel_watch():
        threading.Thread(target=_watch, args=(parent,), name="hypewatch-lifeline", daemon=True).start()
    if os.getppid() != parent:  # gone before the watch began
        os._exit(1)


def _kernel_watch() -> bool:
    """Ask Linux for SIGKILL when the parent exits; False where prctl is not available."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _watch(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(_POLL_SECONDS)
    os._exit(1)


def _bind_forkserver() -> None:
    """When the forkserver's start-up (its ``main``, preloading modules) is importing us: die with its parent."""
    forkserver = sys.modules.get("multiprocessing.forkserver")
    main = getattr(forkserver, "main", None)
    frame = sys._getframe(1)
    while frame is not None:
        if main is not None and frame.f_code is main.__code__:
            die_with_parent()
            return
        frame = frame.f_back


_bind_forkserver()
