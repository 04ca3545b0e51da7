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
        wait_for(lambda: "#1 · run_with_retries" in get(base + "datasets/ds/examples/line-1/"))
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


def start_serve(tmp_path, addr: str):
    jsonl = make_dataset(tmp_path / "ds", "ds", [dumps(r) for r in clean_records()])
    return subprocess.Popen(
        [sys.executable, "-m", "generator", "serve", "--dataset", str(jsonl), "--work", str(tmp_path / "work"), "--dev-addr", addr],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )


def stop(proc) -> str:
    proc.send_signal(signal.SIGINT)
    try:
        out, _ = proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
    return out


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
    port = free_port()
    proc = start_serve(tmp_path, f"127.0.0.1:{port}")
    try:
        wait_for(lambda: status("127.0.0.1", port, f"127.0.0.1:{port}") == 200)
        for good in (f"localhost:{port}", "localhost", f"127.0.0.1:{port}", f"[::1]:{port}", f"LOCALHOST.:{port}"):
            assert status("127.0.0.1", port, good) == 200, good
        for bad in (f"evil.example:{port}", "evil.example", f"127.0.0.1.evil.example:{port}", f"localhost:{port}@evil", "", f"[::1]x:{port}"):
            assert status("127.0.0.1", port, bad) == 421, bad
    finally:
        stop(proc)


def test_a_bad_dev_addr_is_a_one_line_error(tmp_path):
    for addr in ("127.0.0.1:99999", "127.0.0.1:http", "::1:8000", "nowhere"):
        proc = subprocess.run(
            [sys.executable, "-m", "generator", "serve", "--work", str(tmp_path / "w"), "--dev-addr", addr],
            cwd=ROOT, capture_output=True, text=True, timeout=60,
        )
        assert proc.returncode == 1, addr
        assert proc.stderr == f"error: --dev-addr {addr!r}: expected HOST:PORT with a port from 1 to 65535, e.g. 127.0.0.1:8000 or [::1]:8000\n"
        assert not (tmp_path / "w").exists()  # refused before anything is built


def test_serve_listens_on_ipv6_or_says_why_not(tmp_path):
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
            port = s.getsockname()[1]
        has_v6 = True
    except OSError:
        has_v6, port = False, free_port()
    proc = start_serve(tmp_path, f"[::1]:{port}")
    try:
        if has_v6:
            wait_for(lambda: status("::1", port, f"[::1]:{port}") == 200)
            assert "#1 · run_with_retries" in get(f"http://[::1]:{port}/datasets/ds/examples/line-1/")
        else:
            out = proc.communicate(timeout=60)[0]
            assert proc.returncode == 1 and "Traceback" not in out
            assert f"error: --dev-addr [::1]:{port}: cannot listen there" in out
    finally:
        out = stop(proc)
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
            cwd=ROOT, capture_output=True, text=True, timeout=60,
        )
        assert proc.returncode == 2, addr
        assert proc.stderr.startswith(f"error: --dev-addr {addr!r}: expected HOST:PORT") and proc.stderr.count("\n") == 1
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "generator", "preview", str(site), "--dev-addr", f"127.0.0.1:{port}"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        assert "serving" in proc.stdout.readline()  # printed once the socket listens
        assert status("127.0.0.1", port, f"localhost:{port}") == 200
        assert status("127.0.0.1", port, f"evil.example:{port}") == 421
    finally:
        stop(proc)
