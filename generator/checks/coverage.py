"""The whole-dataset coverage rules: in-scope items no example covers, expected names the
source lacks, scope selectors that match nothing."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..model import Finding, Location, SourceIndex, is_target
from ..rules import finding

if TYPE_CHECKING:
    from ..config import DatasetConfig


def check_coverage(config: DatasetConfig, index: SourceIndex, covered: dict[str, list[str]]) -> list[Finding]:
    return uncovered_items(config, index, covered) + missing_names(config, index) + unmatched_selectors(config, index)


def uncovered_items(config: DatasetConfig, index: SourceIndex, covered: dict[str, list[str]]) -> list[Finding]:
    return [
        finding(
            "coverage.uncovered",
            Location.source(item.path, item.start_line),
            f"{item.kind} {item.name} is in scope but no example covers it",
            config.stem,
        )
        for item in index.items()
        if is_target(config, item) and not covered.get(item.ident)
    ]


def missing_names(config: DatasetConfig, index: SourceIndex) -> list[Finding]:
    """Expected names the source does not define, each with where the config names it and how
    to fix that."""
    out = []
    where = str(config.config_path)
    defined = {i.name.rsplit("::", 1)[-1] for i in index.items()} | {i.name for i in index.items()}
    for name in config.expected_names:
        if name in defined:
            continue
        at = next((a for a in config.expected_at if a[0] == name), None)
        override = config.severity.get("coverage.missing-name")
        fix = [f"{where}:{at[1]}: {at[2]}"] if at else []
        fix.append(f'To fix: remove "{name}" from scope.expected_names if the source is right not to define it;')
        if override:
            fix.append(
                f'or, if it may stay missing, change the override "coverage.missing-name" = "{override}" under '
                '[severity] ("off" silences it).'
            )
        else:
            fix.append(
                'or, if it may stay missing, add under [severity]:  "coverage.missing-name" = "info"  (or "off").'
            )
        message = f"{name} is named by the scope but the source defines no such item"
        location = Location.config(where, at[1] if at else 0)
        out.append(finding("coverage.missing-name", location, message, config.stem, "\n".join(fix)))
    return out


def unmatched_selectors(config: DatasetConfig, index: SourceIndex) -> list[Finding]:
    out = []
    idents = {i.ident for i in index.items()}
    for sel in config.scope_items + config.out_items:
        path, _, name = sel.partition("::")
        if path not in index.files:
            continue
        if name != "*" and sel not in idents and not any(i.startswith(sel + "::") for i in idents):
            message = f"scope selector {sel} matches no item in the source"
            out.append(finding("coverage.scope-unmatched", Location.config(config.config_path), message, config.stem))
    return out
