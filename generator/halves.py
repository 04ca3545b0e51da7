"""Pure work on both cores: a forked child does the second half, this process the first.

Python runs on one core per process. Where a stage maps a pure function over many items
(per-record checks, example pages), a child forked from this process (so it shares every
object, read-only) takes half of them. It never runs this process's clean-up (it ends with
os._exit), is killed when this process dies, and is killed and reaped when this side fails.
"""

from __future__ import annotations

import ctypes
import marshal
import os
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

# Fewer items than this are not worth a fork (a fork and its copied pages cost milliseconds).
MAP_AT = 2000


def map_in_two(fn: Callable[[T], object], items: list[T]) -> list:
    """[fn(x) for x in items], the second half computed by a forked child. fn's results must
    be plain values (marshal: numbers, strings, bytes, tuples, lists, dicts, sets). If the child
    fails, this process computes its half again (a failure then surfaces here, as usual)."""
    if len(items) < MAP_AT or not hasattr(os, "fork"):
        return [fn(x) for x in items]
    mid = len(items) // 2
    pid, report = fork(lambda: marshal.dumps([fn(x) for x in items[mid:]]))
    with report:
        try:
            first = [fn(x) for x in items[:mid]]
            data = report.read()
        except BaseException:
            kill(pid)
            raise
    _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) == 0 and data:
        return first + marshal.loads(data)
    return first + [fn(x) for x in items[mid:]]


def fork(work: Callable[[], bytes]):
    """Fork a child that writes work()'s bytes to a pipe and ends: 0 on success, 1 on any
    failure (it wrote its message, if any, instead). Returns (its pid, the pipe to read)."""
    parent = os.getpid()
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        status = 1
        try:
            os.close(read_end)
            die_with_parent(parent)
            data = work()
            with os.fdopen(write_end, "wb") as fh:
                fh.write(data)
            status = 0
        except BaseException:  # noqa: B036 -- the exit status tells; nothing of this process may run
            pass
        finally:
            os._exit(status)
    os.close(write_end)
    return pid, os.fdopen(read_end, "rb")


def die_with_parent(parent: int) -> None:
    """In a child: be killed when the parent dies (a build killed with -9 leaves no writer)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, 9)  # PR_SET_PDEATHSIG, SIGKILL
    except (OSError, AttributeError):  # not Linux
        pass
    if os.getppid() != parent:  # it died before the line above
        os._exit(1)


def kill(pid: int) -> None:
    """Kill a child and reap it."""
    try:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
    except ChildProcessError:  # already reaped
        pass
