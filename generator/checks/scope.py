"""Fidelity and scope rules of one record's code: verbatim, found, whole items, the file's own
imports; in scope, not marked out, not test code, named by the scope."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..link import fragment_problems
from ..model import Example, Finding, Match, SourceIndex
from .common import clip, record_finding

if TYPE_CHECKING:
    from ..config import DatasetConfig


def check_fidelity_scope(
    ex: Example, config: DatasetConfig, index: SourceIndex, cache: dict | None = None
) -> list[Finding]:
    """Fidelity and scope depend only on the code block: computed once per distinct block."""
    key = ex.code
    if cache is not None and key in cache:
        problems = cache[key]
    else:
        problems = [(f.rule, f.message, f.detail) for f in _fidelity_scope(ex, config, index)]
        if cache is not None:
            cache[key] = problems
    return [record_finding(ex, rule, message, detail) for rule, message, detail in problems]


def _fidelity_scope(ex: Example, config: DatasetConfig, index: SourceIndex) -> list[Finding]:
    out = []
    item_files: set[str] = set()
    import_only: list[tuple[int, str]] = []
    for seg in ex.segments:
        label = (
            f"segment {seg.index + 1} (code lines {seg.code_start + 1}-{seg.code_start + seg.text.count(chr(10)) + 1})"
        )
        if seg.status == Match.NOT_FOUND:
            out.append(
                record_finding(
                    ex,
                    "fidelity.not-found",
                    f"{label} is not in the pinned source: {clip(seg.text.strip().splitlines()[0])!r}",
                )
            )
            continue
        where = f"{seg.path}:{seg.start_line}-{seg.end_line}"
        if seg.status == Match.MODIFIED:
            out.append(record_finding(ex, "fidelity.not-verbatim", f"{label} differs from {where}", seg.diff))
        if seg.path not in config.scope_files:
            out.append(record_finding(ex, "scope.file", f"{label} quotes {seg.path}, which is not in scope"))
        for problem in fragment_problems(index, seg) if seg.status == Match.VERBATIM else ():
            out.append(record_finding(ex, "fidelity.fragment", f"{label} {problem}"))
        f = index.files.get(seg.path)
        items = [i for i in (f.items if f else ()) if seg.start_line <= i.start_line and i.end_line <= seg.end_line]
        top = [
            i
            for i in items
            if not any(o is not i and o.start_line <= i.start_line and i.end_line <= o.end_line for o in items)
        ]
        if top and all(i.kind == "use" for i in top):
            import_only.append((seg.index, seg.path))
        elif top:
            item_files.add(seg.path)
        for item in items:
            if config.is_out(item.ident):
                out.append(
                    record_finding(
                        ex, "scope.out", f"{label} quotes {item.kind} {item.name}, which the config marks out of scope"
                    )
                )
            elif config.exclude_test_modules and item.in_test:
                out.append(
                    record_finding(
                        ex, "scope.test-module", f"{label} quotes {item.kind} {item.name} from a #[cfg(test)] module"
                    )
                )
        targeted = [i for i in top if i.kind != "use" and not i.in_test and not config.is_out(i.ident)]
        if (
            seg.path in config.scope_files
            and targeted
            and not any(config.in_scope(i.ident) or _has_scoped_child(config, index, i) for i in targeted)
        ):
            names = ", ".join(i.name for i in targeted)
            out.append(record_finding(ex, "scope.untargeted", f"{label} quotes {names}, which the scope does not name"))
    for seg_index, path in import_only:
        if item_files and path not in item_files:
            out.append(
                record_finding(
                    ex,
                    "fidelity.foreign-imports",
                    f"segment {seg_index + 1} gives imports of {path}, but the quoted item is from "
                    f"{', '.join(sorted(item_files))}",
                )
            )
    return out


def _has_scoped_child(config: DatasetConfig, index: SourceIndex, item) -> bool:
    f = index.files[item.path]
    return any(
        config.in_scope(c.ident) for c in f.items if item.start_line <= c.start_line and c.end_line <= item.end_line
    )
