"""Every file the build keeps from one run to the next. Other modules read and write them only
through the functions here. Each is a cache or a record of the last build: one that is
missing, unreadable, damaged or of another version is ignored, and the work is done again.

In the work folder (--work, default build/):

state/<dataset slug>.memo
    What earlier builds learnt about each line of a dataset (memo.Memo). A pickle (protocol 5)
    of built-in values only, read with an unpickler that refuses every class. Version
    MEMO_FORMAT (2), stored in the file beside the generator's code digest: a memo of another
    format or code is ignored.

docs-keys.json
    The summary pages of the last build: a JSON object, docs path → [page key, SHA-256 of the
    page's Markdown]. Version 1, not stored: every page key holds the generator's code digest,
    so a new generator never takes an old page.

mkdocs-out.files.json
    Each file of mkdocs' last output (mkdocs-out/): a JSON object, path → SHA-256 of its bytes.
    Version 1, not stored; any other shape is ignored.

mkdocs-out.key
    Hex text: an HMAC-SHA-256, under the machine secret (below), of the key of mkdocs' inputs
    and of mkdocs-out.files.json. mkdocs' output is reused only while this matches, so a work
    folder that arrives from elsewhere is never trusted. Version 1, not stored.

manifests/<16 hex digits>.json
    The last build's plan of one site folder (named by a digest of its resolved path): a JSON
    object with sorted keys, site path → the key of the file's bytes (place.py). Version 1, not
    stored; the site's mark names the manifest's SHA-256.

cache/highlight/<SHA-256>.json
    One source text's highlighted HTML lines (highlight.py): a JSON list of strings, named by
    a digest of the generator's code digest and the text. Version 1, not stored: a new
    generator names every file afresh (unused files are removed).

In the site folder (--out):

.generated-site
    The site's mark (SITE_MARK): UTF-8 text, MARK_TEXT then "manifest <SHA-256 of the
    manifest>", or UPDATING while a build changes the site. Only a folder with a mark is ever
    replaced; a mark that does not name the manifest means laying the site out afresh.
    Version 1, not stored.

Outside any project ($XDG_CACHE_HOME, else ~/.cache):

dataset-generator/secret
    32 random bytes, mode 0600, made on first use: the key of mkdocs-out.key's HMAC.

Also in the work folder, written by other modules: .generated-work and .lock (folders.py),
docs/ and mkdocs.yml (mkdocs_site.py), mkdocs-out/ (mkdocs, run by mkdocs_site.py) and
search/ (searchdb.py); serve-site/ is the site `serve` serves (serve.py).
"""

from __future__ import annotations

import hashlib
import hmac
import io
import os
import pickle
from collections.abc import Callable
from pathlib import Path

import orjson

from . import urls
from .load import LineMemo
from .memo import Memo, code_digest
from .write import write_atomic

MEMO_FORMAT = 2
MEMO_FOLDER = "state"
DOCS_KEYS = "docs-keys.json"
MKDOCS_FILES = "mkdocs-out.files.json"
MKDOCS_KEY = "mkdocs-out.key"
MANIFESTS = "manifests"
HIGHLIGHT_CACHE = "cache/highlight"
SITE_MARK = ".generated-site"
SECRET = "dataset-generator/secret"

MARK_TEXT = "written by python -m generator build; replaced on every build\n"
UPDATING = b"updating: this build was interrupted; the next one lays the site out afresh\n"


# --- state/<slug>.memo ------------------------------------------------------------------------


def memo_path(work: Path, stem: str) -> Path:
    return work / MEMO_FOLDER / f"{urls.slug(stem)}.memo"


class _BuiltinsOnly(pickle.Unpickler):
    def find_class(self, module, name):  # no class is ever needed: refuse them all
        raise pickle.UnpicklingError(f"refusing {module}.{name}")


def read_memo(path: Path) -> Memo:
    """The memo at path, or an empty one when it is missing, unreadable or of another format."""
    try:
        data = _BuiltinsOnly(io.BytesIO(path.read_bytes())).load()
        # Everything in a memo was computed by the generator's code: another version's is void.
        if not isinstance(data, dict) or data.get("format") != MEMO_FORMAT or data.get("code") != code_digest():
            return Memo()
        lines = {d: LineMemo(*t) for d, t in data["lines"].items()}
        return Memo(data["context"], lines, data["findings"], data["near"])
    except Exception:  # a cache: any damage means starting from nothing
        return Memo()


def write_memo(path: Path, memo: Memo) -> None:
    payload = {
        "format": MEMO_FORMAT,
        "code": code_digest(),
        "context": memo.context,
        "lines": {d: m.as_tuple() for d, m in memo.lines.items()},
        "findings": memo.findings,
        "near": memo.near,
    }
    _write(path, pickle.dumps(payload, protocol=5))


# --- docs-keys.json ---------------------------------------------------------------------------


def read_docs_keys(work: Path) -> dict:
    """The last build's summary pages: docs path → [key, digest]; {} when there is none."""
    try:
        last = orjson.loads((work / DOCS_KEYS).read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return {}
    return last if isinstance(last, dict) else {}


def write_docs_keys(work: Path, keys: dict[str, list[str]]) -> None:
    write_atomic(work / DOCS_KEYS, orjson.dumps(keys, option=orjson.OPT_SORT_KEYS))


# --- mkdocs-out.files.json, mkdocs-out.key, the machine secret ---------------------------------


def read_mkdocs_files(work: Path) -> dict[str, str] | None:
    """mkdocs' last output by file (path → digest), as listed; None when there is no listing."""
    try:
        files = orjson.loads((work / MKDOCS_FILES).read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None
    if isinstance(files, dict) and all(isinstance(d, str) for d in files.values()):
        return files
    return None


def mkdocs_sealed(work: Path, secret: bytes, key: str, files: dict[str, str]) -> bool:
    """Whether mkdocs-out.key is this machine's seal of `key` (mkdocs' inputs) and `files`."""
    try:
        kept = (work / MKDOCS_KEY).read_text()
    except OSError:
        kept = ""
    return hmac.compare_digest(kept, _seal(secret, key, files))


def forget_mkdocs_seal(work: Path) -> None:
    """Before mkdocs' output is replaced: no seal vouches for a half-replaced folder."""
    (work / MKDOCS_KEY).unlink(missing_ok=True)


def write_mkdocs_files(work: Path, files: dict[str, str], secret: bytes | None, key: str) -> None:
    """List mkdocs' new output and, with a machine secret, seal it under its inputs' key."""
    write_atomic(work / MKDOCS_FILES, orjson.dumps(files))
    if secret is not None:
        write_atomic(work / MKDOCS_KEY, _seal(secret, key, files).encode())


def _seal(secret: bytes, key: str, files: dict[str, str]) -> str:
    """The reuse key of mkdocs' output: an HMAC, under this machine's secret, of its inputs'
    key and its files' digests. A work folder that arrives from elsewhere (a checkout) cannot
    forge one, so its output is never reused."""
    return hmac.new(
        secret, key.encode() + b"\0" + orjson.dumps(files, option=orjson.OPT_SORT_KEYS), hashlib.sha256
    ).hexdigest()


def machine_secret() -> bytes | None:
    """32 random bytes kept outside any project ($XDG_CACHE_HOME or ~/.cache, then
    dataset-generator/secret, mode 0600), made on first use; None when there is no such
    place (mkdocs' output is then never reused)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    path = Path(base) / SECRET
    for _ in range(2):
        try:
            if path.is_symlink():
                return None
            data = path.read_bytes()
            return data if len(data) >= 32 else None
        except FileNotFoundError:
            pass
        except OSError:
            return None
        tmp = path.with_name(f".secret.{os.getpid()}.tmp")
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            tmp.unlink(missing_ok=True)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(os.urandom(32))
            os.link(tmp, path)  # the first process to make one wins; the others read it
        except FileExistsError:
            pass
        except OSError:
            return None
        finally:
            tmp.unlink(missing_ok=True)
    return None


# --- manifests/*.json and the site's mark -----------------------------------------------------


def manifest_path(work: Path, out: Path) -> Path:
    """Where the manifest of the site folder `out` is kept."""
    return work / MANIFESTS / (hashlib.sha256(str(out.resolve()).encode()).hexdigest()[:16] + ".json")


def manifest_and_mark(keys: dict[str, str]) -> tuple[bytes, bytes]:
    """The manifest of a site whose files have these keys, and the mark that names it."""
    manifest = orjson.dumps(keys, option=orjson.OPT_SORT_KEYS)
    return manifest, (MARK_TEXT + f"manifest {hashlib.sha256(manifest).hexdigest()}\n").encode()


def previous_keys(out: Path, manifest: Path) -> dict[str, str] | None:
    """The last build's keys, when `out` is still exactly that build's site."""
    try:
        mark = (out / SITE_MARK).read_text(encoding="utf-8")
        kept = manifest.read_bytes()
    except (OSError, UnicodeDecodeError):
        return None
    if mark != MARK_TEXT + f"manifest {hashlib.sha256(kept).hexdigest()}\n":
        return None
    try:
        keys = orjson.loads(kept)
    except orjson.JSONDecodeError:
        return None
    return keys if isinstance(keys, dict) else None


def write_manifest(path: Path, manifest: bytes) -> None:
    _write(path, manifest)


def forget_manifest(path: Path) -> None:
    """Before a site is laid out afresh: a manifest must never outlive the site it describes."""
    path.unlink(missing_ok=True)


def write_mark(site: Path, mark: bytes) -> None:
    """The site's mark: `mark` from manifest_and_mark, or UPDATING."""
    _write(site / SITE_MARK, mark)


# --- cache/highlight/*.json -------------------------------------------------------------------


def kept_highlights(
    work: Path, salt: str, codes: list[str], highlight: Callable[[str], tuple[str, ...]]
) -> dict[str, tuple[str, ...]]:
    """Each text's highlighted lines: kept from an earlier build (by a digest of `salt`, the
    generator's version, and the text), else made by `highlight` and kept for the next one.
    Files no text of this build needs are removed."""
    folder = work / HIGHLIGHT_CACHE
    folder.mkdir(parents=True, exist_ok=True)
    kept: dict[str, tuple[str, ...]] = {}
    used = set()
    for code in codes:
        name = hashlib.sha256((salt + "\0" + code).encode("utf-8", "surrogatepass")).hexdigest() + ".json"
        used.add(name)
        path = folder / name
        try:
            lines = orjson.loads(path.read_bytes())
            if isinstance(lines, list) and all(isinstance(line, str) for line in lines):
                kept[code] = tuple(lines)
                continue
        except (OSError, orjson.JSONDecodeError):
            pass
        kept[code] = highlight(code)
        write_atomic(path, orjson.dumps(list(kept[code])))
    for old in folder.glob("*.json"):
        if old.name not in used:
            old.unlink(missing_ok=True)
    return kept


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, data)
