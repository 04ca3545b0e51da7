"""The commands, each a thin sequence of stage calls."""

from __future__ import annotations

import sys
from pathlib import Path

from . import report
from .config import ConfigError, load_config
from .index import SourceError, index_source
from .lock import lock_data, write_lock
from .pipeline import PipelineError, discover, has_errors, run


def _paths(args) -> list[Path]:
    from .folders import project_root

    return discover(args.dataset, project_root(getattr(args, "project", None)))


def cmd_check(args, source_root) -> int:
    results = run(_paths(args), source_root)
    findings = [f for r in results for f in r.findings]
    if args.format == "json":
        sys.stdout.buffer.write(report.as_json(findings))
    elif args.format == "github":
        sys.stdout.write(report.as_github(findings))
    else:
        sys.stdout.write(report.as_text(findings))
    return 1 if has_errors(results) else 0


def cmd_lock(args, source_root) -> int:
    if source_root is None:
        raise PipelineError("lock needs the source: give --source-root DIR (or set DATASET_SOURCE_ROOT)")
    for path in _paths(args):
        try:
            config = load_config(path)
        except ConfigError as e:
            raise PipelineError(str(e)) from None
        try:
            index, problems = index_source(
                source_root, list(config.scope_files), config.max_file_bytes, config.parse_timeout
            )
        except SourceError as e:
            raise PipelineError(str(e)) from None
        if problems:
            raise PipelineError("; ".join(f"{p.location()}: {p.message}" for p in problems))
        write_lock(config.lock_path, lock_data(index, config.repository, config.commit, list(config.scope_files)))
        print(
            f"wrote {config.lock_path} ({len(index.files)} files, "
            f"{sum(len(f.items) for f in index.files.values())} items)"
        )
    return 0


def cmd_build(args, source_root) -> int:
    from .build import build_site

    return build_site(args, source_root)


def cmd_serve(args, source_root) -> int:
    from .serve import serve

    return serve(args, source_root)


def cmd_diff(args, source_root) -> int:
    from . import diffreport
    from .against import AgainstError, as_file, check_against, compare_dataset

    check_against(args.against)
    paths = _paths(args)
    if len(paths) > 1 and as_file(args.against) is not None:
        raise AgainstError(f"--against {args.against}: a file compares with one dataset; name it with --dataset")
    diffs = [compare_dataset(path, args.against, source_root)[0] for path in paths]
    if args.format == "json":
        sys.stdout.buffer.write(diffreport.as_json(diffs))
    elif args.format == "github":
        sys.stdout.write(diffreport.as_github(diffs))
    else:
        sys.stdout.write(diffreport.as_text(diffs))
    if args.fail_on == "new-errors" and any(d.new_errors() for d in diffs):
        return 1
    return 0
