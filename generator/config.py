"""Dataset configuration: the TOML file beside each JSONL (same stem)."""

from __future__ import annotations

import functools
import json
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlsplit

from .model import OFF, Severity
from .rules import RULES
from .urls import source

OVERRIDES = (*Severity, OFF)  # what [severity] may set a rule to


DEFAULT_MAX_FILE_BYTES = 1_000_000  # a larger source file is skipped with a finding
DEFAULT_PARSE_TIMEOUT = 2.0  # seconds tree-sitter may spend on one file (then: skipped, a finding)


class ConfigError(Exception):
    """A config that cannot be used; the message names the file (and line when known)."""


@dataclass(frozen=True)
class DatasetConfig:
    stem: str
    jsonl: Path
    config_path: Path
    title: str
    description: str
    system_prompt: str
    repository: str
    commit: str
    license: str
    copyright: str
    scope_files: tuple[str, ...]
    scope_items: tuple[str, ...]  # "path::Name" or "path::*"
    out_items: tuple[str, ...]
    exclude_test_modules: bool
    expected_names: tuple[str, ...]
    required_terms: tuple[str, ...]
    allow: frozenset[str]
    near_threshold: float
    boilerplate_share: float = 0.5  # reasoning.boilerplate: a phrase in more than this share of blocks
    severity: dict[str, str] = field(default_factory=dict)
    # Where each expected name is written in the config: (name, line number, that line's text)
    expected_at: tuple[tuple[str, int, str], ...] = ()
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    parse_timeout: float = DEFAULT_PARSE_TIMEOUT

    def fingerprint(self) -> str:
        """Every setting, written the same way in every process (sets sorted): part of the
        keys that decide what an earlier build's results may be reused for. Files count by
        name only: the same dataset named from another folder is the same dataset."""
        plain = {}
        for name, value in vars(self).items():
            if isinstance(value, (set, frozenset)):
                value = sorted(value)
            elif isinstance(value, dict):
                value = sorted(value.items())
            elif isinstance(value, Path):
                value = value.name
            plain[name] = value
        return json.dumps(plain, sort_keys=True, ensure_ascii=False)

    @property
    def lock_path(self) -> Path:
        return self.jsonl.with_name(self.stem + ".lock.json")

    def file_url(self, path: str) -> str:
        """The file upstream at the pinned commit."""
        return f"{self.repository.rstrip('/')}/blob/{quote(self.commit, safe='')}/{quote(path, safe='/')}"

    def permalink(self, path: str, start: int, end: int) -> str:
        return self.file_url(path) + (f"#L{start}" if start == end else f"#L{start}-L{end}")

    def in_scope(self, ident: str) -> bool:
        path, _, name = ident.partition("::")
        for sel in self.scope_items:
            spath, _, sname = sel.partition("::")
            if spath == path and (sname == "*" or sname == name or name.startswith(sname + "::")):
                return True
        return False

    def is_out(self, ident: str) -> bool:
        path, _, name = ident.partition("::")
        for sel in self.out_items:
            spath, _, sname = sel.partition("::")
            if spath == path and (sname == name or name.startswith(sname + "::")):
                return True
        return False


def _get(data: dict, dotted: str, kind, path: Path, default=None, text: str = ""):
    cur = data
    for part in dotted.split("."):
        if not isinstance(cur, dict) or part not in cur:
            if default is not None:
                return default
            raise ConfigError(f"{_at(path, text, dotted)}: missing key '{dotted}'")
        cur = cur[part]
    if not isinstance(cur, kind) or (kind is int and isinstance(cur, bool)):
        names = " or ".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))
        raise ConfigError(f"{_at(path, text, dotted)}: '{dotted}' must be {names}")
    return cur


def _str_list(data: dict, dotted: str, path: Path, text: str = "") -> tuple[str, ...]:
    value = _get(data, dotted, list, path, default=[], text=text)
    if not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{_at(path, text, dotted)}: '{dotted}' must be a list of strings")
    return tuple(value)


# Every key a config may hold (tables → their keys); [severity] takes rule ids (checked below).
SCHEMA: dict[str, object] = {
    "title": str,
    "description": str,
    "system_prompt": str,
    "source": {
        "repository": str,
        "commit": str,
        "license": str,
        "copyright": str,
        "max_file_bytes": int,
        "parse_timeout_seconds": float,
    },
    "scope": {"files": list, "items": list, "out": list, "exclude_test_modules": bool, "expected_names": list},
    "reasoning": {"required_terms": list, "allow": list, "boilerplate_share": float},
    "duplicates": {"near_threshold": float},
    "severity": dict,
}


def _key_parts(text: str) -> list[str]:
    """`a."b c".d` → ['a', 'b c', 'd'] (enough of TOML's key syntax to find a line)."""
    return [p.strip().strip('"').strip("'") for p in re.findall(r"\"[^\"]*\"|'[^']*'|[^.]+", text)]


def line_of(text: str, dotted: list[str]) -> int:
    """The line (1-based) where the key `dotted` is written, or its table's header; 0 when not
    found. tomllib keeps no positions, so the text is scanned for table headers and keys."""
    table: list[str] = []
    best = 0
    for n, line in enumerate(text.split("\n"), start=1):
        stripped = line.strip()
        if stripped.startswith("["):
            inner = stripped.split("#", 1)[0].strip()
            if not inner.endswith("]"):
                continue
            table = _key_parts(inner.strip("[]"))
            if table == dotted:
                return n
            if dotted[: len(table)] == table and not best:
                best = n
            continue
        key, eq, _ = stripped.partition("=")
        if eq and table + _key_parts(key) == dotted:
            return n
    return best


def _at(path: Path, text: str, dotted: str) -> str:
    n = line_of(text, dotted.split("."))
    return f"{path}:{n}" if n else str(path)


def _reject_unknown(data: dict, text: str, path: Path) -> None:
    for key, value in data.items():
        want = SCHEMA.get(key)
        if want is None:
            raise ConfigError(f"{_at(path, text, key)}: unknown key '{key}' (known: {', '.join(SCHEMA)})")
        if isinstance(want, dict) and isinstance(value, dict):
            for sub in value:
                if sub not in want:
                    raise ConfigError(
                        f"{_at(path, text, key + '.' + sub)}: unknown key '{key}.{sub}' (known in [{key}]: "
                        f"{', '.join(want)})"
                    )


def _clean_scope_file(f: str, where: str) -> str:
    """A scope path in one spelling: `./a//b.rs` → `a/b.rs`. Refuses what leaves the root."""
    if any(ord(c) < 0x20 or c == "\x7f" for c in f):
        raise ConfigError(f"{where}: scope file {f!r} holds a control character")
    if f.startswith("/") or "\\" in f:
        raise ConfigError(f"{where}: scope file {f!r} must be a relative path inside the source root")
    parts = [p for p in f.split("/") if p not in ("", ".")]
    if not parts or ".." in parts or f.endswith("/"):
        raise ConfigError(f"{where}: scope file {f!r} must be a relative path inside the source root, naming a file")
    return "/".join(parts)


def _check_repository(url: str, where: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or any(ord(c) <= 0x20 or c in '"<>\\`' for c in url):
        raise ConfigError(f"{where}: source.repository must be an http(s) URL, got {url!r}")


def config_path_for(jsonl: Path) -> Path:
    return jsonl.with_suffix(".toml")


def load_config(jsonl: Path) -> DatasetConfig:
    """The config beside `jsonl`, checked in the order its errors are reported."""
    path = config_path_for(jsonl)
    text, data = _read_toml(path)
    _reject_unknown(data, text, path)
    get = functools.partial(_get, data, path=path, text=text)
    strings = functools.partial(_str_list, data, path=path, text=text)
    at = functools.partial(_at, path, text)
    severity = _severity_overrides(get("severity", dict, default={}), path, text)
    files = _scope_files(strings("scope.files"), at("scope.files"))
    repository = get("source.repository", str)
    _check_repository(repository, at("source.repository"))
    max_bytes = _number(
        get, at, "source.max_file_bytes", DEFAULT_MAX_FILE_BYTES, lambda v: v >= 1, "a positive integer", int
    )
    timeout = _number(
        get,
        at,
        "source.parse_timeout_seconds",
        DEFAULT_PARSE_TIMEOUT,
        lambda v: 0 < v <= 600,
        "a number of seconds in (0, 600]",
    )
    threshold = _number(get, at, "duplicates.near_threshold", 0.5, _share, "a number in (0, 1]", show=True)
    share = _number(get, at, "reasoning.boilerplate_share", 0.5, _share, "a number in (0, 1]", show=True)
    selectors = {key: _selectors(strings(key), key, files, at(key)) for key in ("scope.items", "scope.out")}
    return DatasetConfig(
        stem=jsonl.stem,
        jsonl=jsonl,
        config_path=path,
        title=get("title", str),
        description=get("description", str, default=""),
        system_prompt=get("system_prompt", str),
        repository=repository,
        commit=get("source.commit", str),
        license=get("source.license", str, default=""),
        copyright=get("source.copyright", str, default=""),
        scope_files=files,
        scope_items=selectors["scope.items"],
        out_items=selectors["scope.out"],
        exclude_test_modules=get("scope.exclude_test_modules", bool, default=True),
        expected_names=strings("scope.expected_names"),
        required_terms=strings("reasoning.required_terms"),
        allow=frozenset(strings("reasoning.allow")),
        near_threshold=float(threshold),
        boilerplate_share=float(share),
        severity=dict(severity),
        expected_at=_name_lines(text, _str_list(data, "scope.expected_names", path)),
        max_file_bytes=max_bytes,
        parse_timeout=float(timeout),
    )


def _read_toml(path: Path) -> tuple[str, dict]:
    try:
        text = path.read_text(encoding="utf-8")
        return text, tomllib.loads(text)
    except FileNotFoundError:
        raise ConfigError(f"{path}: dataset config not found (every dataset needs a TOML config beside it)") from None
    except UnicodeDecodeError as e:
        raise ConfigError(f"{path}: not UTF-8 ({e.reason})") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: {e}") from None
    except OSError as e:
        raise ConfigError(f"{path}: cannot be read ({e.strerror or e})") from None


def _severity_overrides(severity: dict, path: Path, text: str) -> dict:
    """[severity]: known rule ids only, each set to a severity or "off"."""
    for rule, sev in severity.items():
        if rule not in RULES:
            raise ConfigError(f"{_at(path, text, 'severity.' + rule)}: [severity] names an unknown rule {rule!r}")
        if sev not in OVERRIDES:
            allowed = f"{', '.join(OVERRIDES[:-1])} or {OVERRIDES[-1]}"
            raise ConfigError(f"{_at(path, text, 'severity')}: severity of '{rule}' must be {allowed}")
    return severity


def _scope_files(listed: tuple[str, ...], where: str) -> tuple[str, ...]:
    """scope.files in one spelling each: no file twice, no two sharing one source page."""
    files = tuple(_clean_scope_file(f, where) for f in listed)
    if len(set(files)) != len(files):
        dup = next(f for f in files if files.count(f) > 1)
        raise ConfigError(f"{where}: scope file {dup!r} is listed twice (after normalising the path)")
    pages: dict[str, str] = {}
    for f in files:  # a source page is named by a slug of its path: two must not share one
        other = pages.setdefault(source("x", f).lower(), f)
        if other != f:
            raise ConfigError(f"{where}: scope files {other!r} and {f!r} would share one source page; rename one")
    return files


def _selectors(listed: tuple[str, ...], key: str, files: tuple[str, ...], where: str) -> tuple[str, ...]:
    """scope.items or scope.out: 'path::Name' entries whose path is one of scope.files."""
    cleaned = []
    for sel in listed:
        spath, sep, name = sel.partition("::")
        if not sep or not name:
            raise ConfigError(f"{where}: {key} entry {sel!r} must be 'path::Name' or 'path::*'")
        spath = _clean_scope_file(spath, where)
        if spath not in files:
            raise ConfigError(f"{where}: {key} entry {sel!r} names a file that is not in scope.files")
        cleaned.append(f"{spath}::{name}")
    return tuple(cleaned)


def _share(value) -> bool:
    return 0 < value <= 1


def _number(get, at, dotted: str, default, ok, must: str, kind=(int, float), show: bool = False):
    """A numeric setting that `ok` accepts (a boolean never is one)."""
    value = get(dotted, kind, default=default)
    if isinstance(value, bool) or not ok(value):
        raise ConfigError(f"{at(dotted)}: {dotted} must be {must}" + (f", got {value!r}" if show else ""))
    return value


def _name_lines(text: str, names: tuple[str, ...]) -> tuple[tuple[str, int, str], ...]:
    """The line of `expected_names` (or of its array, when it spans lines) that holds each name,
    for findings that tell where to fix the config. One pass over the lines."""
    lines = text.split("\n")
    start = next((k for k, line in enumerate(lines) if line.lstrip().startswith("expected_names")), None)
    if start is None:
        return ()
    out = []
    wanted = {f'"{n}"': n for n in names} | {f"'{n}'": n for n in names}
    seen = set()
    for k in range(start, len(lines)):
        line = lines[k]
        for quoted, name in wanted.items():
            if name not in seen and quoted in line:
                seen.add(name)
                out.append((name, k + 1, line.strip()[:200]))
        if "]" in line.split("#", 1)[0]:
            break
    return tuple(sorted(out))
