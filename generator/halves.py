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
    return begin(fn, items).result()


class Begun:
    """[fn(x) for x in items], begun: a forked child computes the items from `split` on at
    once, while this process goes on with other work; result() computes the rest here and
    joins the two. Call result() or cancel() (a build's clean-up: the child is killed and
    reaped) once."""

    def __init__(self, fn: Callable[[T], object], items: list[T], split: int):
        self.fn, self.items, self.split = fn, items, split
        self.pid, self.report = None, None
        if split < len(items):
            self.pid, self.report = fork(lambda: marshal.dumps([fn(x) for x in items[split:]]))

    def result(self) -> list:
        fn, items, split = self.fn, self.items, self.split
        if self.pid is None:
            return [fn(x) for x in items]
        with self.report:
            try:
                first = [fn(x) for x in items[:split]]
                data = self.report.read()
            except BaseException:
                self.cancel()
                raise
        _, status = os.waitpid(self.pid, 0)
        self.pid = None
        if os.waitstatus_to_exitcode(status) == 0 and data:
            return first + marshal.loads(data)
        return first + [fn(x) for x in items[split:]]

    def cancel(self) -> None:
        if self.pid is not None:
            kill(self.pid)
            self.pid = None
            self.report.close()


def begin(fn: Callable[[T], object], items: list[T], share: float = 0.5) -> Begun:
    """Begun(fn, items): the child takes `share` of the items (the last ones); none when they
    are too few to be worth a fork (MAP_AT) or there is no fork."""
    if len(items) < MAP_AT or not hasattr(os, "fork"):
        return Begun(fn, items, len(items))
    return Begun(fn, items, len(items) - int(len(items) * share))


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
