"""The version a dataset is compared with: a git ref of the repository holding it, or another
JSONL file. Read only: `git show REF:path` in a subprocess (no checkout, no index change), or
the file's bytes. The old version is run through the pipeline from a temporary folder (the
dataset itself is never written); then diff.compare relates the two results.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .pipeline import PipelineError, run_one


class AgainstError(PipelineError):
    """The version to compare with cannot be read (exit 2); the message is one line."""


@dataclass(frozen=True)
class OldVersion:
    jsonl: bytes
    config: bytes | None  # None: the ref has none, the new version's config is used
    lock: bytes | None
    label: str  # the ref or file as given
    present: bool = True  # False: the dataset does not exist at the ref (all its records are new)


def _git(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, GIT_PAGER="cat", GIT_TERMINAL_PROMPT="0", LC_ALL="C")
    try:
        return subprocess.run(["git", *args], cwd=cwd, capture_output=True, env=env, timeout=120)
    except FileNotFoundError:
        raise AgainstError("git is not installed: --against REF needs it (or give --against FILE)") from None
    except subprocess.TimeoutExpired:
        raise AgainstError(f"{cwd}: git {args[0]} did not finish in 120 s") from None


def _one_line(data: bytes) -> str:
    text = data.decode("utf-8", "replace").strip().splitlines()
    return text[-1] if text else "failed"


def read_old(path: Path, against: str) -> OldVersion:
    """The old version of dataset `path`: `against` is a file when one exists by that name,
    else a git ref."""
    candidate = Path(against)
    if candidate.is_dir():
        raise AgainstError(f"{against}: is a folder; --against takes a JSONL file or a git ref")
    if candidate.is_file():
        return OldVersion(_read(candidate), _sibling(candidate, ".toml"), _sibling(candidate, ".lock.json"), against)
    return _from_git(path, against)


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as e:
        raise AgainstError(f"{path}: cannot be read ({e.strerror})") from None


def _sibling(jsonl: Path, suffix: str) -> bytes | None:
    p = jsonl.with_name(jsonl.stem + suffix)
    return _read(p) if p.is_file() else None


def _from_git(path: Path, ref: str) -> OldVersion:
    if not ref or ref.startswith("-") or any(c in ref for c in "\0\n\r") or ":" in ref:
        raise AgainstError(f"{ref!r}: not a usable git ref (and no such file)")
    if not path.is_file():
        raise AgainstError(f"{path}: no such file")
    folder = path.resolve().parent
    top = _git(folder, "rev-parse", "--show-toplevel")
    if top.returncode != 0:
        raise AgainstError(f"{path}: not inside a git repository, so --against {ref} cannot be read (give --against FILE)")
    root = Path(top.stdout.decode("utf-8", "surrogateescape").strip()).resolve()
    verify = _git(root, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    if verify.returncode != 0:
        raise AgainstError(f"{ref}: unknown git ref in {root}")
    commit = verify.stdout.decode().strip()
    try:
        rel = path.resolve().relative_to(root).as_posix()
    except ValueError:  # e.g. a symbolic link into another tree
        raise AgainstError(f"{path}: not inside the git repository at {root}") from None

    def show(rel_path: str) -> bytes | None:
        proc = _git(root, "show", "--no-textconv", f"{commit}:{rel_path}")
        if proc.returncode != 0:
            listed = _git(root, "ls-tree", "--name-only", commit, "--", rel_path)
            if listed.returncode == 0 and not listed.stdout.strip():
                return None  # not in that commit
            raise AgainstError(f"{rel_path}@{ref}: git show failed: {_one_line(proc.stderr)}")
        return proc.stdout

    stem_rel = rel[: -len(path.suffix)] if path.suffix else rel
    data = show(rel)
    return OldVersion(data or b"", show(stem_rel + ".toml"), show(stem_rel + ".lock.json"), ref, data is not None)


def run_old(path: Path, old: OldVersion, source_root, timings=None, memo=None):
    """The old version through the pipeline, from a temporary copy named like the dataset
    (its config and lock from the ref when it has them, else the current ones)."""
    from .config import load_config, ConfigError

    try:
        current = load_config(path)
    except ConfigError as e:
        raise PipelineError(str(e)) from None
    with tempfile.TemporaryDirectory(prefix="dataset-diff-") as tmp:
        jsonl = Path(tmp) / path.name
        jsonl.write_bytes(old.jsonl)
        (Path(tmp) / (path.stem + ".toml")).write_bytes(old.config if old.config is not None else current.config_path.read_bytes())
        lock = old.lock if old.lock is not None else (current.lock_path.read_bytes() if current.lock_path.is_file() else None)
        if lock is not None:
            (Path(tmp) / (path.stem + ".lock.json")).write_bytes(lock)
        try:
            return run_one(jsonl, source_root, timings=timings, memo=memo)
        except PipelineError as e:
            raise AgainstError(f"{path}@{old.label}: {str(e).replace(tmp + os.sep, '')}") from None


def compare_dataset(path: Path, against: str, source_root, new_result=None, timings=None):
    """(DatasetDiff, new result) for one dataset. The old version runs first; its memo then
    answers for every line the new version shares with it. `new_result` (a build's own run)
    is used when given, and then its memo answers for the old version's shared lines."""
    from .diff import compare

    old = read_old(path, against)
    old_result = run_old(path, old, source_root, timings, new_result.memo if new_result is not None else None)
    if new_result is None:
        new_result = run_one(path, source_root, timings=timings, memo=old_result.memo)
    try:
        new_raw = path.read_bytes()
    except OSError as e:
        raise AgainstError(f"{path}: cannot be read ({e.strerror})") from None
    label = f"{against} (not in that commit)" if not old.present else against
    return compare(old_result, new_result, old.jsonl, new_raw, label, str(path)), new_result
