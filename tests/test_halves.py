"""halves.py: pure work split with a forked child gives exactly the serial result, survives a
failing child, and leaves no child behind when this side fails."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from conftest import CORPUS, ROOT, reaped

import generator.halves as halves
from generator.pipeline import run


@pytest.fixture(autouse=True)
def split_anything(monkeypatch):
    """Split any list of two items or more."""
    monkeypatch.setattr(halves, "MAP_AT", 2)


def test_the_split_gives_the_serial_result_in_order(forks):
    items = list(range(101))
    assert halves.map_in_two(lambda x: (x, str(x), bytes([x % 256])), items) == [
        (x, str(x), bytes([x % 256])) for x in items
    ]
    assert len(forks) == 1 and reaped(forks)


def test_a_child_that_dies_is_replaced_by_this_process(forks):
    here = os.getpid()

    def square(x):
        if x == 90 and os.getpid() != here:
            os.kill(os.getpid(), signal.SIGKILL)
        return x * x

    assert halves.map_in_two(square, list(range(100))) == [x * x for x in range(100)]
    assert reaped(forks)


def test_a_failure_here_kills_the_child_and_is_raised(forks):
    here = os.getpid()

    def fails_here(x):
        if x == 3 and os.getpid() == here:
            raise ValueError("bad record")
        return x

    with pytest.raises(ValueError, match="bad record"):
        halves.map_in_two(fails_here, list(range(100)))
    assert reaped(forks)


def test_checks_on_two_cores_equal_checks_on_one(forks, monkeypatch):
    """The per-record rules and line facts of the pipeline (record_rules, remember_lines)."""
    monkeypatch.chdir(ROOT)
    dataset = [Path("dataset/retry_state_machine.jsonl")]
    split = run(dataset, CORPUS)[0]
    assert len(forks) == 2, "record_rules and remember_lines each fork once"
    monkeypatch.setattr(halves, "MAP_AT", 10**9)
    serial = run(dataset, CORPUS)[0]
    assert split.findings == serial.findings and split.examples == serial.examples
    assert split.memo.findings == serial.memo.findings
    assert split.memo.lines == serial.memo.lines
    assert reaped(forks)


def test_work_begun_early_gives_the_serial_result(forks):
    """begin(): the child starts at once with its share (here two thirds, the last items);
    result() later computes the rest here and joins them in order."""
    here = os.getpid()
    begun = halves.begin(lambda x: (x, os.getpid() == here), list(range(90)), share=2 / 3)
    assert len(forks) == 1  # forked before result() is asked for
    got = begun.result()
    assert [x for x, _ in got] == list(range(90))
    assert [mine for _, mine in got] == [True] * 30 + [False] * 60
    assert reaped(forks)
    begun.cancel()  # after result(): nothing left to do


def test_work_begun_and_cancelled_leaves_no_child(forks):
    """A build that fails before it needs the results cancels them: the child is killed and
    reaped, however long its work."""
    import time

    begun = halves.begin(lambda x: time.sleep(60), list(range(10)))
    begun.cancel()
    assert len(forks) == 1 and reaped(forks)
