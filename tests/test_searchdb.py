"""The search database's pieces: identifier tokens, the Range server, what the site ships."""

from __future__ import annotations

import http.client
import socket
import struct
import threading
import time
import urllib.request

import pytest

from generator.rangeserve import parse_range, serve_in_thread
from generator.searchdb import identifier_tokens


def test_identifiers_are_indexed_as_written_and_by_every_run_of_their_parts():
    exact, parts = identifier_tokens(
        "Call `Retry::run` via crate::core::retry::Retry, then `should_retry()`; see core/retry.rs."
    )
    assert {
        "retry::run",
        "retry",
        "run",
        "should_retry",
        "crate::core::retry::retry",
        "core::retry",
        "retry::retry",
        "core/retry.rs",
        "retry.rs",
    } <= exact
    assert "call" not in exact and "via" not in exact and "then" not in exact  # prose stays in the text index
    assert {"should"} <= parts
    exact, parts = identifier_tokens("let d = Duration::from_millis(5); MessageAttemptExhausted", code=True)
    assert {"duration::from_millis", "from_millis", "duration", "let", "d", "messageattemptexhausted"} <= exact
    assert {"message", "attempt", "exhausted", "from", "millis"} <= parts


def test_a_long_chain_is_bounded():
    exact, _ = identifier_tokens("::".join(f"a{i}" for i in range(500)), code=True)
    assert len(exact) <= 8 * 9 // 2 + 1


@pytest.mark.parametrize(
    "header, size, expected",
    [
        ("bytes=0-3", 10, (0, 3)),
        ("bytes=4-", 10, (4, 9)),
        ("bytes=-3", 10, (7, 9)),
        ("bytes=5-100", 10, (5, 9)),
        ("bytes=10-12", 10, False),
        ("bytes=5-2", 10, False),
        ("bytes=0-1,4-5", 10, None),  # several ranges: the whole file
        ("items=0-1", 10, None),
        (None, 10, None),
    ],
)
def test_range_header(header, size, expected):
    assert parse_range(header, size) == expected


def test_the_server_answers_range_requests(tmp_path):
    (tmp_path / "db.sqlite3").write_bytes(bytes(range(256)) * 40)
    httpd, base = serve_in_thread(tmp_path)
    try:
        req = urllib.request.Request(base + "/db.sqlite3", method="HEAD")
        with urllib.request.urlopen(req) as r:
            assert r.headers["Accept-Ranges"] == "bytes" and r.headers["Content-Length"] == "10240"
        req = urllib.request.Request(base + "/db.sqlite3", headers={"Range": "bytes=4096-8191"})
        with urllib.request.urlopen(req) as r:
            assert r.status == 206
            assert r.headers["Content-Range"] == "bytes 4096-8191/10240"
            assert r.read() == (bytes(range(256)) * 40)[4096:8192]
        req = urllib.request.Request(base + "/db.sqlite3", headers={"Range": "bytes=20000-"})
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(req)
        assert e.value.code == 416
        with urllib.request.urlopen(base + "/db.sqlite3") as r:  # no Range: the whole file
            assert r.status == 200 and len(r.read()) == 10240
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_the_server_keeps_the_connection_for_the_next_range(tmp_path):
    """The search reads many ranges in a row: one connection serves them all, a redirect
    included (each answer says its length). An error closes it, as http.server does."""
    (tmp_path / "db.sqlite3").write_bytes(bytes(range(256)) * 40)
    (tmp_path / "folder").mkdir()
    httpd, base = serve_in_thread(tmp_path)
    conn = http.client.HTTPConnection(*httpd.server_address[:2], timeout=10)
    try:
        socks = []
        for path, headers, status in [
            ("/db.sqlite3", {"Range": "bytes=0-4095"}, 206),
            ("/folder", {}, 301),
            ("/db.sqlite3", {"Range": "bytes=8192-"}, 206),
            ("/db.sqlite3", {}, 200),
        ]:
            conn.request("GET", path, headers=headers)
            r = conn.getresponse()
            assert r.status == status and not r.will_close
            r.read()
            socks.append(conn.sock)
        assert all(s is socks[0] for s in socks)
    finally:
        conn.close()
        httpd.shutdown()
        httpd.server_close()


def test_a_browser_dropping_a_kept_connection_is_not_an_error(tmp_path, capfd):
    """A connection kept open between ranges may be reset by the browser (a tab closed, serve
    stopped): the server closes its side quietly, with no traceback on its output."""
    (tmp_path / "db.sqlite3").write_bytes(bytes(4096))
    httpd, _ = serve_in_thread(tmp_path)
    try:
        before = threading.active_count()
        sock = socket.create_connection(httpd.server_address[:2], timeout=10)
        sock.sendall(b"GET /db.sqlite3 HTTP/1.1\r\nHost: 127.0.0.1\r\nRange: bytes=0-99\r\n\r\n")
        assert sock.recv(65536).startswith(b"HTTP/1.1 206")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()  # a reset, while the server waits for the next request
        for _ in range(500):  # its thread ends once it has read the reset
            if threading.active_count() <= before:
                break
            time.sleep(0.01)
        assert threading.active_count() <= before
        assert "Traceback" not in capfd.readouterr().err
    finally:
        httpd.shutdown()
        httpd.server_close()
