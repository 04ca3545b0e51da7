"""A static file server that answers HTTP Range requests (`python -m http.server` does not).

The site's search and tables read `search/site.sqlite3` a few 4 KB pages at a time with Range
requests; a server that ignores Range sends the whole file instead. GitHub Pages, nginx and
S3 answer Range; this is the same for `serve`, `preview` and the tests.

One range per request (`bytes=a-b`, `bytes=a-`, `bytes=-n`), as sql.js-httpvfs asks; a request
for several ranges is answered with the whole file (allowed by RFC 9110).
"""

from __future__ import annotations

import functools
import os
import re
import socket
import sys
import threading
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

_RANGE = re.compile(r"bytes=(\d*)-(\d*)\s*$")


def parse_range(header: str | None, size: int) -> tuple[int, int] | None | bool:
    """(first, last) byte of a single satisfiable range; None for no (or an ignored) range;
    False when the range cannot be satisfied (416)."""
    if not header:
        return None
    m = _RANGE.match(header.strip())
    if not m or (not m.group(1) and not m.group(2)):
        return None  # several ranges, other units, garbage: the whole file
    if m.group(1):
        first = int(m.group(1))
        last = int(m.group(2)) if m.group(2) else size - 1
        if first >= size or last < first:
            return False
        return first, min(last, size - 1)
    suffix = int(m.group(2))
    if suffix == 0 or size == 0:
        return False
    return max(size - suffix, 0), size - 1


class RangeRequestHandler(SimpleHTTPRequestHandler):
    """SimpleHTTPRequestHandler plus single-range GET/HEAD and `Accept-Ranges: bytes`."""

    _range: tuple[int, int] | None = None
    # The search asks for many small ranges one after another: keep the connection open
    # (HTTP/1.1) and send each answer at once (no Nagle: it held back a response's body until
    # the browser's delayed acknowledgement, 40 ms a request). An idle connection ends after a while.
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    timeout = 60

    def handle_one_request(self):
        try:
            super().handle_one_request()
        except (ConnectionResetError, BrokenPipeError):  # the browser left an open connection
            self.close_connection = True

    def send_head(self):
        self._range = None
        path = self.translate_path(self.path)
        if os.path.isdir(path) or self.headers.get("Range") is None:
            return super().send_head()
        try:
            f = open(path, "rb")
        except OSError:
            self.send_error(HTTPStatus.NOT_FOUND, "File not found")
            return None
        try:
            size = os.fstat(f.fileno()).st_size
            rng = parse_range(self.headers.get("Range"), size)
            if rng is None:
                f.close()
                return super().send_head()
            if rng is False:
                f.close()
                self.send_response(HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE)
                self.send_header("Content-Range", f"bytes */{size}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return None
            first, last = rng
            self.send_response(HTTPStatus.PARTIAL_CONTENT)
            self.send_header("Content-Type", self.guess_type(path))
            self.send_header("Content-Range", f"bytes {first}-{last}/{size}")
            self.send_header("Content-Length", str(last - first + 1))
            self.send_header("Last-Modified", self.date_time_string(int(os.fstat(f.fileno()).st_mtime)))
            self.end_headers()
            f.seek(first)
            self._range = (first, last)
            return f
        except BaseException:
            f.close()
            raise

    def end_headers(self):
        self.send_header("Accept-Ranges", "bytes")
        super().end_headers()

    def copyfile(self, source, outputfile):
        if self._range is None:
            return super().copyfile(source, outputfile)
        left = self._range[1] - self._range[0] + 1
        while left > 0:
            chunk = source.read(min(left, 1 << 16))
            if not chunk:
                break
            outputfile.write(chunk)
            left -= len(chunk)

    def log_message(self, *args):
        pass


class AddressError(Exception):
    """A --dev-addr that cannot be used; the message is one line."""


def parse_dev_addr(addr: str) -> tuple[str, int]:
    """HOST:PORT, [IPv6]:PORT → (host without brackets, port); AddressError when malformed."""
    host, sep, port = addr.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        host = ""  # an IPv6 address needs brackets
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise AddressError(
            f"--dev-addr {addr!r}: expected HOST:PORT with a port from 1 to 65535, e.g. 127.0.0.1:8000 or [::1]:8000"
        )
    return host, int(port)


def allowed_hosts(bound: str) -> set[str]:
    """Host header names the server answers to: localhost and the address it is bound to."""
    return {"localhost", "127.0.0.1", "::1", bound.lower()}


def host_allowed(header: str | None, allowed: set[str]) -> bool:
    if not header:
        return False
    name = header.strip().lower()
    if name.startswith("["):  # [v6]:port
        name, sep, rest = name[1:].partition("]")
        if not sep or (rest and not (rest.startswith(":") and rest[1:].isdigit())):
            return False
    elif ":" in name:
        name, _, port = name.rpartition(":")
        if not port.isdigit():
            return False
    return name.rstrip(".") in allowed


def listen(host: str, port: int, addr: str, handler):
    """A threading HTTP server bound to host:port (IPv4 or IPv6); AddressError when it cannot be."""

    class Server(ThreadingHTTPServer):
        address_family = socket.AF_INET6 if ":" in host else socket.AF_INET

    try:
        return Server((host, port), handler)
    except (OSError, OverflowError) as e:
        reason = getattr(e, "strerror", None) or str(e)
        raise AddressError(f"--dev-addr {addr}: cannot listen there ({reason})") from None


class LocalRangeHandler(RangeRequestHandler):
    """Answers only requests addressed to this machine by name (DNS rebinding: a page of
    another site whose name now points here must not read the site). Set `allowed`."""

    allowed: set[str] = set()

    def parse_request(self):
        if not super().parse_request():
            return False
        if not host_allowed(self.headers.get("Host"), self.allowed):
            self.send_error(421, "Misdirected Request: this server answers localhost only")
            return False
        return True


def make_server(
    folder: Path, host: str = "127.0.0.1", port: int = 0, handler: type = RangeRequestHandler
) -> ThreadingHTTPServer:
    """A threading server for `folder` (port 0: any free port)."""
    return ThreadingHTTPServer((host, port), functools.partial(handler, directory=str(folder)))


def serve_in_thread(folder: Path, host: str = "127.0.0.1", port: int = 0) -> tuple[ThreadingHTTPServer, str]:
    """Start a server on a daemon thread; returns (server, base URL). Stop with shutdown()."""
    httpd = make_server(folder, host, port)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, f"http://{host}:{httpd.server_address[1]}"


def preview(folder: Path, addr: str) -> int:
    """Serve a built site as it is (no build, no reload) until Ctrl-C, to this machine only."""
    try:
        host, port = parse_dev_addr(addr)
    except AddressError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if not folder.is_dir():
        print(f"error: {folder}: no such folder (build the site first: python -m generator build)", file=sys.stderr)
        return 2

    class Handler(LocalRangeHandler):
        allowed = allowed_hosts(host)

    try:
        httpd = listen(host, port, addr, functools.partial(Handler, directory=str(folder)))
    except AddressError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    url_host = f"[{host}]" if ":" in host else host
    try:  # Ctrl-C from here on stops the server quietly
        print(
            f"serving {folder}/ on http://{url_host}:{httpd.server_address[1]}/ with Range support (Ctrl-C stops)",
            flush=True,
        )
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        httpd.server_close()
    return 0


__all__ = [
    "AddressError",
    "LocalRangeHandler",
    "RangeRequestHandler",
    "allowed_hosts",
    "host_allowed",
    "listen",
    "make_server",
    "parse_dev_addr",
    "parse_range",
    "preview",
    "serve_in_thread",
]
