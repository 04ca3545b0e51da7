"""What every rule family shares: a finding about one record, the config's severity
overrides, short quotes in messages."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..model import OFF, Example, Finding, Location, Severity
from ..rules import finding

if TYPE_CHECKING:
    from ..config import DatasetConfig


def apply_severity(config: DatasetConfig | None, findings: list[Finding]) -> list[Finding]:
    """Config overrides; 'off' drops the finding."""
    overrides = config.severity if config is not None else {}
    out = []
    for f in findings:
        sev = overrides.get(f.rule, f.severity)
        if sev == OFF:
            continue
        out.append(f if sev == f.severity else Finding(f.rule, Severity(sev), f.at, f.message, f.dataset, f.detail))
    return out


def record_finding(ex: Example, rule: str, message: str, detail: str = "") -> Finding:
    r = ex.record
    return finding(rule, Location.dataset(r.path, r.line), message, r.dataset, detail)


def clip(text: str, n: int = 80) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"
