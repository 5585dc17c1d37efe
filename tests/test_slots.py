"""The per-client SQL slots hold across processes, and a slot dies with the process holding it."""

from __future__ import annotations

import multiprocessing

from hypewatch.site.slots import ClientSlots


def _hold(directory: str, client: str, ready, done) -> None:
    slots = ClientSlots(2, directory=__import__("pathlib").Path(directory))
    held = [slots.acquire(client), slots.acquire(client)]
    ready.send([h is not None for h in held])
    done.recv()


def test_slots_are_shared_between_processes_and_freed_when_one_dies(tmp_path):
    ctx = multiprocessing.get_context("spawn")
    ready_parent, ready_child = ctx.Pipe()
    done_parent, done_child = ctx.Pipe()
    proc = ctx.Process(target=_hold, args=(str(tmp_path), "203.0.113.9", ready_child, done_child))
    proc.start()
    try:
        assert ready_parent.recv() == [True, True]  # the other process holds both slots
        here = ClientSlots(2, directory=tmp_path)
        assert here.acquire("203.0.113.9") is None  # so this one gets none
        other = here.acquire("198.51.100.1")
        assert other is not None  # another address has its own
        here.release(other)
    finally:
        proc.kill()  # dies holding its locks, as a crashed worker would
        proc.join()
    held = here.acquire("203.0.113.9")
    assert held is not None
    here.release(held)


def test_in_one_process_the_count_is_kept_in_memory():
    slots = ClientSlots(2)
    first, second = slots.acquire("a"), slots.acquire("a")
    assert first is not None and second is not None and slots.acquire("a") is None
    slots.release(first)
    assert slots.acquire("a") is not None
