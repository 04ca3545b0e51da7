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

from .config import ConfigError, load_config
from .diff import DatasetDiff, compare
from .load import DatasetUnreadable, read_input
from .model import DatasetResult
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
    names: tuple[str, str, str] | None = None  # how to name its JSONL, config and lock in messages


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


FILE_PREFIX = "file:"


def as_file(against: str) -> Path | None:
    """The file `against` names, or None when it names a git ref. A file is only ever given in
    an explicit path form: `file:PATH`, or a path starting with `/`, `./` or `../` (no git ref
    can start so). A bare value is a ref; a checkout cannot turn it into a file by adding one."""
    if against.startswith(FILE_PREFIX):
        return Path(against[len(FILE_PREFIX) :])
    if against.startswith(("/", "./", "../")):
        return Path(against)
    return None


def check_against(against: str, option: str = "--against") -> None:
    """Refuse an empty value, or a bare one that is also a path (which was meant?)."""
    if not against.strip():
        raise AgainstError(
            f"{option} is empty: give a git ref (origin/main) or a file (./old.jsonl, /abs/old.jsonl, file:old.jsonl)"
        )
    if as_file(against) is None and os.path.lexists(against):
        raise AgainstError(
            f"{option} {against}: names a path here, and a bare value is a git ref (a file added by a checkout "
            f"could pose as one); write ./{against} or file:{against} for the file, refs/…/{against} for the ref"
        )


def read_old(path: Path, against: str) -> OldVersion:
    """The old version of dataset `path`: a file when `against` is in a path form (as_file),
    else a git ref."""
    check_against(against)
    candidate = as_file(against)
    if candidate is None:
        return _from_git(path, against)
    if candidate.is_dir():
        raise AgainstError(f"{candidate}: is a folder; --against takes a JSONL file or a git ref")
    if not os.path.lexists(candidate):
        raise AgainstError(f"{candidate}: no such file")
    config, lock = candidate.with_name(candidate.stem + ".toml"), candidate.with_name(candidate.stem + ".lock.json")
    return OldVersion(
        _read(candidate), _sibling(config), _sibling(lock), against, names=(str(candidate), str(config), str(lock))
    )


def _read(path: Path) -> bytes:
    try:
        return read_input(path)
    except DatasetUnreadable as e:
        raise AgainstError(str(e)) from None
    except OSError as e:
        raise AgainstError(f"{path}: cannot be read ({e.strerror})") from None


def _sibling(p: Path) -> bytes | None:
    return _read(p) if p.is_file() else None


def _from_git(path: Path, ref: str) -> OldVersion:
    if not ref or ref.startswith("-") or any(c in ref for c in "\0\n\r") or ":" in ref:
        raise AgainstError(f"{ref!r}: not a usable git ref (a file is given as ./PATH, /PATH or file:PATH)")
    if not path.is_file():
        raise AgainstError(f"{path}: no such file")
    folder = path.resolve().parent
    top = _git(folder, "rev-parse", "--show-toplevel")
    if top.returncode != 0:
        raise AgainstError(
            f"{path}: not inside a git repository, so --against {ref} cannot be read (give --against FILE)"
        )
    root = Path(top.stdout.decode("utf-8", "surrogateescape").strip()).resolve()
    verify = _git(root, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    if verify.returncode != 0:
        raise AgainstError(f"{ref}: unknown git ref in {root} (a file is given as ./PATH, /PATH or file:PATH)")
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
    names = tuple(f"{ref}:{r}" for r in (rel, stem_rel + ".toml", stem_rel + ".lock.json"))
    return OldVersion(
        data or b"", show(stem_rel + ".toml"), show(stem_rel + ".lock.json"), ref, data is not None, names
    )


def run_old(path: Path, old: OldVersion, source_root, timings=None, memo=None) -> DatasetResult:
    """The old version through the pipeline, from a temporary copy named like the dataset
    (its config and lock from the ref when it has them, else the current ones)."""
    try:
        current = load_config(path)
    except ConfigError as e:
        raise PipelineError(str(e)) from None
    with tempfile.TemporaryDirectory(prefix="dataset-diff-") as tmp:
        jsonl = Path(tmp) / path.name
        toml, lock_path = Path(tmp) / (path.stem + ".toml"), Path(tmp) / (path.stem + ".lock.json")
        names = list(old.names or (f"{path}@{old.label}",) * 3)
        jsonl.write_bytes(old.jsonl)
        if old.config is None:
            names[1] = str(current.config_path)
        toml.write_bytes(old.config if old.config is not None else current.config_path.read_bytes())
        lock = old.lock
        if lock is None and current.lock_path.is_file():
            lock, names[2] = current.lock_path.read_bytes(), str(current.lock_path)
        if lock is not None:
            lock_path.write_bytes(lock)
        try:
            return run_one(jsonl, source_root, timings=timings, memo=memo)
        except PipelineError as e:
            message = str(e)
            if tmp not in message:  # not about the old version's files (e.g. the source root)
                raise
            for temp, name in zip((jsonl, toml, lock_path), names, strict=True):
                message = message.replace(str(temp), name)
            raise AgainstError(f"{path}@{old.label}: {message.replace(tmp + os.sep, '')}") from None


def compare_dataset(
    path: Path, against: str, source_root, new_result: DatasetResult | None = None, timings=None
) -> tuple[DatasetDiff, DatasetResult]:
    """(DatasetDiff, new result) for one dataset. The old version runs first; its memo then
    answers for every line the new version shares with it. `new_result` (a build's own run)
    is used when given, and then its memo answers for the old version's shared lines."""
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
