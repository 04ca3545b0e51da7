"""Command line: build, serve, preview, lock, check, diff. Argument parsing only; the stages do the work."""

from __future__ import annotations

import argparse
import sys


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--dataset",
        action="append",
        metavar="FILE",
        help="a JSONL dataset (repeatable; default: every dataset/*.jsonl)",
    )
    p.add_argument(
        "--source-root",
        metavar="DIR",
        help="a svix-webhooks checkout (default: $DATASET_SOURCE_ROOT; without one the committed lock is used)",
    )
    p.add_argument(
        "--project",
        metavar="DIR",
        help="the project folder: its mkdocs.yml, docs/ and dataset/ (default: the current folder when it has an "
        "mkdocs.yml, else the generator's own)",
    )


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="python -m generator",
        description="Review, check and publish ChatML datasets back-translated from Rust source.",
    )
    sub = ap.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="generate the Markdown and build the site")
    _common(b)
    b.add_argument("--out", default="site", metavar="DIR", help="site output folder (default: site/)")
    b.add_argument(
        "--work", default="build", metavar="DIR", help="folder for the generated Markdown and config (default: build/)"
    )
    b.add_argument("--site-url", metavar="URL", help="the URL the site is served from (sub-paths work)")
    b.add_argument("--strict", action="store_true", help="exit non-zero when any line of a dataset is reported")
    b.add_argument("--quiet", action="store_true", help="print only the summary")
    b.add_argument(
        "--compare",
        metavar="REF|FILE",
        help="add a Changes page per dataset: what changed since a git ref, or against another JSONL given as "
        "./PATH, /PATH or file:PATH",
    )
    s = sub.add_parser("serve", help="build, serve on localhost, rebuild when a JSONL or config changes")
    _common(s)
    s.add_argument("--work", default="build", metavar="DIR")
    s.add_argument("--dev-addr", default="127.0.0.1:8000", metavar="HOST:PORT")
    pv = sub.add_parser(
        "preview", help="serve a built site folder as it is, answering Range requests (which the search needs)"
    )
    pv.add_argument("folder", nargs="?", default="site", help="the site folder (default: site/)")
    pv.add_argument("--dev-addr", default="127.0.0.1:8000", metavar="HOST:PORT")
    lk = sub.add_parser("lock", help="(re)write dataset/<stem>.lock.json from the source root")
    _common(lk)
    c = sub.add_parser(
        "check",
        help="review gates: exit 0 when no error-level finding, 1 when there is one, 2 when input cannot be read",
    )
    _common(c)
    c.add_argument("--format", choices=("text", "json", "github"), default="text")
    d = sub.add_parser(
        "diff",
        help="what a change adds, removes, rewrites and moves: compare each dataset with a git ref or another JSONL",
    )
    _common(d)
    d.add_argument(
        "--against",
        required=True,
        metavar="REF|FILE",
        help="a git ref of the repository holding the dataset (origin/main), or a JSONL file given as ./PATH, /PATH "
        "or file:PATH (a bare name is always a ref)",
    )
    d.add_argument("--format", choices=("text", "json", "github"), default="text")
    d.add_argument(
        "--fail-on", choices=("new-errors",), help="exit 1 when the change introduces an error-level finding"
    )
    return ap


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.command == "preview":
        from pathlib import Path

        from .rangeserve import preview

        return preview(Path(args.folder), args.dev_addr)
    from .folders import BuildError
    from .hidden import visible
    from .index import default_source_root
    from .pipeline import PipelineError
    from .write import OutputError

    source_root = default_source_root(args.source_root)
    try:
        if args.command == "check":
            from .commands import cmd_check

            return cmd_check(args, source_root)
        if args.command == "diff":
            from .commands import cmd_diff

            return cmd_diff(args, source_root)
        if args.command == "lock":
            from .commands import cmd_lock

            return cmd_lock(args, source_root)
        if args.command == "build":
            from .commands import cmd_build

            return cmd_build(args, source_root)
        if args.command == "serve":
            from .commands import cmd_serve

            return cmd_serve(args, source_root)
    except PipelineError as e:
        print(visible(f"error: {e}"), file=sys.stderr)
        return 2
    except (BuildError, OutputError) as e:
        print(visible(f"error: {e}"), file=sys.stderr)
        return 1
    except OSError as e:  # a folder given on the command line that cannot be used
        print(f"error: {e.filename or ''}: {e.strerror or e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 2


if __name__ == "__main__":
    sys.exit(main())
