"""`serve`: builds, serves on localhost, rebuilds when the JSONL changes, pages reload."""

from __future__ import annotations

import errno
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request

from conftest import CORPUS, ROOT, clean_records, dumps, make_dataset

IN_USE = os.strerror(errno.EADDRINUSE)  # "Address already in use", as the error names it


def free_port(family=socket.AF_INET, host="127.0.0.1") -> int:
    """A port free a moment ago: another process may take it before the server binds it, so
    servers are started with Server.start, which tries another port when that happens."""
    with socket.socket(family) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as r:
        return r.read().decode()


def poll(pred, timeout=60.0, every=0.05):
    """Check pred (on a server that is up) until it holds; its errors are not swallowed."""
    end = time.monotonic() + timeout
    while not (value := pred()):
        if time.monotonic() > end:
            raise AssertionError(f"still not true after {timeout}s")
        time.sleep(every)
    return value


class Server:
    """A `serve` or `preview` process; its output is read on a thread, so waits are on its lines."""

    def __init__(self, cmd: list[str], cwd=ROOT, env=None):
        self.proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.out: list[str] = []
        self._lines: queue.Queue = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for line in self.proc.stdout:
            self._lines.put(line)
        self._lines.put(None)

    def line_with(self, needle: str, timeout=180.0) -> str | None:
        """The next output line holding needle, or None when the process ends first."""
        end = time.monotonic() + timeout
        while True:
            try:
                line = self._lines.get(timeout=max(0.0, end - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no line with {needle!r} after {timeout}s:\n{''.join(self.out)}") from None
            if line is None:
                self._lines.put(None)  # later calls see the end too
                return None
            self.out.append(line)
            if needle in line:
                return line

    @classmethod
    def start(cls, cmd_for_addr, family=socket.AF_INET, host="127.0.0.1", **kw) -> tuple[Server, str]:
        """Start the server on a free port, and another if that one was taken meanwhile; wait for
        its "serving … on URL" line. Returns the server and its URL."""
        for _ in range(5):
            port = free_port(family, host)
            server = cls(cmd_for_addr(f"[{host}]:{port}" if family == socket.AF_INET6 else f"{host}:{port}"), **kw)
            line = server.line_with("serving ")
            if line is not None:
                return server, re.search(r" on (http://\S+/)", line).group(1)
            text = server.stop()
            assert IN_USE in text, text
        raise AssertionError("five free ports were all taken before the server bound them")

    def stop(self) -> str:
        """Ctrl-C, as a user stops it (killed if it does not end); all its output."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._reader.join(timeout=10)
        while (line := self._lines.get()) is not None:
            self.out.append(line)
        self._lines.put(None)
        return "".join(self.out)


def serve_cmd(jsonl, work, *extra: str):
    return lambda addr: [
        sys.executable,
        "-m",
        "generator",
        "serve",
        "--dataset",
        str(jsonl),
        "--work",
        str(work),
        *extra,
        "--dev-addr",
        addr,
    ]


def test_serve_rebuilds_when_the_jsonl_changes(tmp_path):
    recs = clean_records()
    jsonl = make_dataset(tmp_path / "ds", "ds", [dumps(r) for r in recs])
    server, base = Server.start(serve_cmd(jsonl, tmp_path / "work", "--source-root", str(CORPUS)))
    try:
        assert "#1 · run_with_retries" in get(base + "datasets/ds/examples/line-1/")
        first_id = get(base + "__build_id")
        # the search reads its database in pieces: serve answers Range requests
        req = urllib.request.Request(base + "search/site.sqlite3", headers={"Range": "bytes=0-15"})
        with urllib.request.urlopen(req, timeout=5) as r:
            assert r.status == 206 and r.read() == b"SQLite format 3\x00"
        assert "livereload.js" in get(base + "datasets/ds/examples/line-1/")
        before = jsonl.read_bytes()
        extra = dumps(recs[0]).replace(b"keeps retrying", b"keeps on retrying after an edit")
        jsonl.write_bytes(before + extra + b"\n")
        assert server.line_with("inputs changed: rebuilding") is not None
        assert server.line_with("site written to") is not None
        page = get(base + "datasets/ds/examples/line-4/")
        assert "keeps on retrying after an edit" in page
        poll(lambda: get(base + "__build_id") != first_id, timeout=10)  # counted just after the build returns
    finally:
        server.stop()


def start_serve(tmp_path, family=socket.AF_INET, host="127.0.0.1") -> tuple[Server, str]:
    jsonl = make_dataset(tmp_path / "ds", "ds", [dumps(r) for r in clean_records()])
    return Server.start(serve_cmd(jsonl, tmp_path / "work"), family, host)


def status(host: str, port: int, host_header: str) -> int:
    import http.client

    conn = http.client.HTTPConnection(host, port, timeout=5)
    conn.putrequest("GET", "/", skip_host=True)
    conn.putheader("Host", host_header)
    conn.endheaders()
    code = conn.getresponse().status
    conn.close()
    return code


def test_serve_answers_only_requests_addressed_to_localhost(tmp_path):
    """DNS rebinding: a page of evil.example whose name now points at 127.0.0.1 must not
    read the site."""
    server, base = start_serve(tmp_path)
    port = int(base.rstrip("/").rsplit(":", 1)[1])
    try:
        for good in (f"localhost:{port}", "localhost", f"127.0.0.1:{port}", f"[::1]:{port}", f"LOCALHOST.:{port}"):
            assert status("127.0.0.1", port, good) == 200, good
        for bad in (
            f"evil.example:{port}",
            "evil.example",
            f"127.0.0.1.evil.example:{port}",
            f"localhost:{port}@evil",
            "",
            f"[::1]x:{port}",
        ):
            assert status("127.0.0.1", port, bad) == 421, bad
    finally:
        server.stop()


def test_a_bad_dev_addr_is_a_one_line_error(tmp_path):
    for addr in ("127.0.0.1:99999", "127.0.0.1:http", "::1:8000", "nowhere"):
        proc = subprocess.run(
            [sys.executable, "-m", "generator", "serve", "--work", str(tmp_path / "w"), "--dev-addr", addr],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert proc.returncode == 1, addr
        assert (
            proc.stderr
            == f"error: --dev-addr {addr!r}: expected HOST:PORT with a port from 1 to 65535, e.g. 127.0.0.1:8000 "
            "or [::1]:8000\n"
        )
        assert not (tmp_path / "w").exists()  # refused before anything is built


def test_serve_listens_on_ipv6_or_says_why_not(tmp_path):
    try:
        free_port(socket.AF_INET6, "::1")
        has_v6 = True
    except OSError:
        has_v6 = False
    if has_v6:
        server, base = start_serve(tmp_path, socket.AF_INET6, "::1")
        try:
            port = int(base.rstrip("/").rsplit(":", 1)[1])
            assert base == f"http://[::1]:{port}/"
            assert status("::1", port, f"[::1]:{port}") == 200
            assert "#1 · run_with_retries" in get(base + "datasets/ds/examples/line-1/")
        finally:
            out = server.stop()
    else:
        jsonl = make_dataset(tmp_path / "ds", "ds", [dumps(r) for r in clean_records()])
        proc = subprocess.run(
            serve_cmd(jsonl, tmp_path / "work")("[::1]:8000"), cwd=ROOT, capture_output=True, text=True, timeout=120
        )
        out = proc.stdout + proc.stderr
        assert proc.returncode == 1
        assert "error: --dev-addr [::1]:8000: cannot listen there" in out
    assert "Traceback" not in out


def test_preview_answers_only_localhost_and_refuses_a_bad_address(tmp_path):
    """`preview` serves a built site with the same guards as `serve`: a bad --dev-addr is a
    one-line error (exit 2), and a request addressed to another host name gets 421."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("<p>preview</p>")
    for addr in ("127.0.0.1:99999", "::1:8000", "nowhere"):
        proc = subprocess.run(
            [sys.executable, "-m", "generator", "preview", str(site), "--dev-addr", addr],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert proc.returncode == 2, addr
        assert (
            proc.stderr.startswith(f"error: --dev-addr {addr!r}: expected HOST:PORT") and proc.stderr.count("\n") == 1
        )
    server, base = Server.start(
        lambda addr: [sys.executable, "-m", "generator", "preview", str(site), "--dev-addr", addr]
    )
    port = int(base.rstrip("/").rsplit(":", 1)[1])
    try:  # its "serving" line is printed once the socket listens
        assert status("127.0.0.1", port, f"localhost:{port}") == 200
        assert status("127.0.0.1", port, f"evil.example:{port}") == 421
    finally:
        server.stop()
