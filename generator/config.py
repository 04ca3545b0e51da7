"""Dataset configuration: the TOML file beside each JSONL (same stem)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
import json
from pathlib import Path


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
        return f"{self.repository.rstrip('/')}/blob/{self.commit}/{path}"

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


def _get(data: dict, dotted: str, kind, path: Path, default=None):
    cur = data
    for part in dotted.split("."):
        if not isinstance(cur, dict) or part not in cur:
            if default is not None:
                return default
            raise ConfigError(f"{path}: missing key '{dotted}'")
        cur = cur[part]
    if not isinstance(cur, kind):
        names = " or ".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))
        raise ConfigError(f"{path}: '{dotted}' must be {names}")
    return cur


def _str_list(data: dict, dotted: str, path: Path) -> tuple[str, ...]:
    value = _get(data, dotted, list, path, default=[])
    if not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{path}: '{dotted}' must be a list of strings")
    return tuple(value)


def config_path_for(jsonl: Path) -> Path:
    return jsonl.with_suffix(".toml")


def load_config(jsonl: Path) -> DatasetConfig:
    path = config_path_for(jsonl)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: dataset config not found (every dataset needs a TOML config beside it)") from None
    except UnicodeDecodeError as e:
        raise ConfigError(f"{path}: not UTF-8 ({e.reason})") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: {e}") from None
    severity = _get(data, "severity", dict, path, default={})
    from .checks import RULES

    for rule, sev in severity.items():
        if rule not in RULES:
            raise ConfigError(f"{path}: [severity] names an unknown rule {rule!r}")
        if sev not in ("error", "warning", "info", "off"):
            raise ConfigError(f"{path}: severity of '{rule}' must be error, warning, info or off")
    files = _str_list(data, "scope.files", path)
    for f in files:
        if f.startswith("/") or ".." in f.split("/"):
            raise ConfigError(f"{path}: scope file '{f}' must be a relative path inside the source root")
    threshold = _get(data, "duplicates.near_threshold", (int, float), path, default=0.5)
    if isinstance(threshold, bool) or not (0 < threshold <= 1):
        raise ConfigError(f"{path}: duplicates.near_threshold must be a number in (0, 1], got {threshold!r}")
    share = _get(data, "reasoning.boilerplate_share", (int, float), path, default=0.5)
    if isinstance(share, bool) or not (0 < share <= 1):
        raise ConfigError(f"{path}: reasoning.boilerplate_share must be a number in (0, 1], got {share!r}")
    for key in ("scope.items", "scope.out"):
        for sel in _str_list(data, key, path):
            spath, sep, name = sel.partition("::")
            if not sep or not name:
                raise ConfigError(f"{path}: {key} entry {sel!r} must be 'path::Name' or 'path::*'")
            if spath not in files:
                raise ConfigError(f"{path}: {key} entry {sel!r} names a file that is not in scope.files")
    return DatasetConfig(
        stem=jsonl.stem,
        jsonl=jsonl,
        config_path=path,
        title=_get(data, "title", str, path),
        description=_get(data, "description", str, path, default=""),
        system_prompt=_get(data, "system_prompt", str, path),
        repository=_get(data, "source.repository", str, path),
        commit=_get(data, "source.commit", str, path),
        license=_get(data, "source.license", str, path, default=""),
        copyright=_get(data, "source.copyright", str, path, default=""),
        scope_files=files,
        scope_items=_str_list(data, "scope.items", path),
        out_items=_str_list(data, "scope.out", path),
        exclude_test_modules=_get(data, "scope.exclude_test_modules", bool, path, default=True),
        expected_names=_str_list(data, "scope.expected_names", path),
        required_terms=_str_list(data, "reasoning.required_terms", path),
        allow=frozenset(_str_list(data, "reasoning.allow", path)),
        near_threshold=float(threshold),
        boilerplate_share=float(share),
        severity=dict(severity),
    )
