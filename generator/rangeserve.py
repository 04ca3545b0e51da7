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


def make_server(folder: Path, host: str = "127.0.0.1", port: int = 0, handler: type = RangeRequestHandler) -> ThreadingHTTPServer:
    """A threading server for `folder` (port 0: any free port)."""
    return ThreadingHTTPServer((host, port), functools.partial(handler, directory=str(folder)))


def serve_in_thread(folder: Path, host: str = "127.0.0.1", port: int = 0) -> tuple[ThreadingHTTPServer, str]:
    """Start a server on a daemon thread; returns (server, base URL). Stop with shutdown()."""
    httpd = make_server(folder, host, port)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, f"http://{host}:{httpd.server_address[1]}"


def preview(folder: Path, host: str, port: int) -> int:
    """Serve a built site as it is (no build, no reload) until Ctrl-C."""
    if not folder.is_dir():
        print(f"error: {folder}: no such folder (build the site first: python -m generator build)", file=sys.stderr)
        return 2
    httpd = make_server(folder, host, port)
    print(f"serving {folder}/ on http://{host}:{httpd.server_address[1]}/ with Range support (Ctrl-C stops)", flush=True)
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        httpd.server_close()
    return 0


__all__ = ["RangeRequestHandler", "make_server", "parse_range", "preview", "serve_in_thread"]
