"""`serve`: builds, serves on localhost, rebuilds when the JSONL changes, pages reload."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
import urllib.request


from conftest import CORPUS, ROOT, clean_records, dumps, make_dataset


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as r:
        return r.read().decode()


def wait_for(pred, timeout=60.0):
    end = time.time() + timeout
    while time.time() < end:
        try:
            value = pred()
            if value:
                return value
        except Exception:
            pass
        time.sleep(0.3)
    raise AssertionError("timed out")


def test_serve_rebuilds_when_the_jsonl_changes(tmp_path):
    recs = clean_records()
    jsonl = make_dataset(tmp_path / "ds", "ds", [dumps(r) for r in recs])
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "generator", "serve", "--dataset", str(jsonl), "--source-root", str(CORPUS), "--work", str(tmp_path / "work"), "--dev-addr", f"127.0.0.1:{port}"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    base = f"http://127.0.0.1:{port}/"
    try:
        wait_for(lambda: "Example 1" in get(base + "datasets/ds/examples/line-1/"))
        first_id = get(base + "__build_id")
        # the search reads its database in pieces: serve answers Range requests
        req = urllib.request.Request(base + "search/site.sqlite3", headers={"Range": "bytes=0-15"})
        with urllib.request.urlopen(req, timeout=5) as r:
            assert r.status == 206 and r.read() == b"SQLite format 3\x00"
        assert "livereload.js" in get(base + "datasets/ds/examples/line-1/")
        before = jsonl.read_bytes()
        extra = dumps(recs[0]).replace(b"keeps retrying", b"keeps on retrying after an edit")
        jsonl.write_bytes(before + extra + b"\n")
        wait_for(lambda: get(base + "__build_id") != first_id)
        page = get(base + "datasets/ds/examples/line-4/")
        assert "keeps on retrying after an edit" in page
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
