"""`serve`: build the site into the work folder, serve it on localhost, and rebuild when a
dataset, its config or lock, or a hand-written page changes. Pages of a served site poll
/__build_id and reload themselves after each rebuild (mkdocs_site.LIVERELOAD_JS)."""

from __future__ import annotations

import functools
import sys
import threading
from pathlib import Path

from .build import build_once
from .folders import BuildError, project_root
from .pipeline import discover
from .rangeserve import AddressError, LocalRangeHandler, allowed_hosts, listen, parse_dev_addr

POLL = 0.5  # seconds between looks at the inputs


def serve(args, source_root) -> int:
    """Build, serve the site on localhost, rebuild when a dataset, its config or lock, or a
    hand-written page changes; open pages reload themselves after each rebuild."""
    root = project_root(getattr(args, "project", None))
    work = Path(args.work)
    out = work / "serve-site"
    paths = discover(args.dataset, root)
    host, port = _address(args.dev_addr)
    url_host = f"[{host}]" if ":" in host else host
    builds = _Builds()

    def rebuild() -> None:
        ok, _ = build_once(paths, source_root, work, out, f"http://{url_host}:{port}/", say=print, live=True, root=root)
        if ok:
            builds.count += 1

    httpd = _listen(host, port, args.dev_addr, out, builds)
    try:
        rebuild()
    except BaseException:
        httpd.server_close()
        raise
    stop = threading.Event()
    watched = _inputs(paths, root)
    threading.Thread(target=_watch, args=(watched, rebuild, stop), daemon=True).start()
    try:  # Ctrl-C from here on stops the server quietly
        print(f"serving {out}/ on http://{url_host}:{httpd.server_address[1]}/ (Ctrl-C stops)", flush=True)
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        httpd.server_close()
    return 0


class _Builds:
    """How many builds succeeded: the id the open pages poll."""

    def __init__(self) -> None:
        self.count = 0


def _address(dev_addr: str) -> tuple[str, int]:
    try:
        return parse_dev_addr(dev_addr)
    except AddressError as e:
        raise BuildError(str(e)) from None


def _listen(host: str, port: int, dev_addr: str, out: Path, builds: _Builds):
    """The server of `out`, listening (not yet serving)."""

    class Handler(LocalRangeHandler):  # Range: the search reads its database in pieces
        allowed = allowed_hosts(host)

        def do_GET(self):
            if self.path == "/__build_id":
                self._send_build_id(str(builds.count).encode())
                return
            super().do_GET()

        def _send_build_id(self, body: bytes) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Cache-Control", "no-store")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    try:
        return listen(host, port, dev_addr, functools.partial(Handler, directory=str(out)))
    except AddressError as e:
        raise BuildError(str(e)) from None


def _inputs(paths: list[Path], root: Path) -> list[Path]:
    """What a rebuild follows: each dataset with its config and lock, docs/ and mkdocs.yml."""
    return [
        *paths,
        *(p.with_suffix(".toml") for p in paths),
        *(p.with_name(p.stem + ".lock.json") for p in paths),
        root / "docs",
        root / "mkdocs.yml",
    ]


def _mtime(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except OSError:  # deleted between listing and looking (editor temp files)
        return 0


def _stamp(watched: list[Path]) -> list[tuple[str, int]]:
    """Every watched file (a folder's, all of them) with its modification time."""
    marks = []
    for p in watched:
        files = sorted(p.rglob("*")) if p.is_dir() else [p]
        marks += [(str(f), _mtime(f)) for f in files]
    return marks


def _watch(watched: list[Path], rebuild, stop: threading.Event) -> None:
    """Rebuild whenever the stamp of the inputs changes, until `stop` is set. A failed
    rebuild is reported and the last good site is kept serving."""
    last = _stamp(watched)
    while not stop.wait(POLL):
        try:
            now = _stamp(watched)
            if now != last:
                last = now
                print("inputs changed: rebuilding", flush=True)
                rebuild()
        except Exception as e:  # keep serving the last good site, keep watching
            print(f"error: {e}", file=sys.stderr, flush=True)
