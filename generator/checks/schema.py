"""Schema rules of one record: the system prompt, the assistant's format, think tags out of
place, hidden characters. (Rules about a line's bytes and JSON are the loader's.)"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..hidden import char_name, code_point, find_hidden
from ..load import THINK_CLOSE, THINK_OPEN
from ..model import Example, Finding
from .common import clip, record_finding

if TYPE_CHECKING:
    from ..config import DatasetConfig


def check_schema(ex: Example, config: DatasetConfig) -> list[Finding]:
    r = ex.record
    out = []
    if r.system != config.system_prompt:
        out.append(
            record_finding(
                ex, "schema.system-prompt", f"system prompt differs from {config.config_path.name}: {clip(r.system)!r}"
            )
        )
    a = r.assistant
    if not a.startswith(THINK_OPEN):
        out.append(record_finding(ex, "schema.assistant-format", "assistant content must start with '<think>\\n'"))
    elif THINK_CLOSE not in a:
        out.append(record_finding(ex, "schema.assistant-format", "no '\\n</think>\\n\\n' closing the think block"))
    else:
        if not ex.think.strip():
            out.append(record_finding(ex, "schema.assistant-format", "empty think block"))
        if not ex.code.strip():
            out.append(record_finding(ex, "schema.assistant-format", "no code after the think block"))
    for role, text in (("system", r.system), ("user", r.user)):
        if "<think>" in text or "</think>" in text:
            out.append(record_finding(ex, "schema.think-tags", f"think tag in the {role} message"))
    if "<think>" in ex.think or "</think>" in ex.think:
        out.append(record_finding(ex, "schema.think-tags", "nested think tag inside the think block"))
    if "<think>" in ex.code or "</think>" in ex.code:
        out.append(record_finding(ex, "schema.think-tags", "think tag inside the code"))
    for role, text in (("system prompt", r.system), ("request", r.user), ("reasoning", ex.think), ("code", ex.code)):
        found = find_hidden(text)
        if found:
            kinds = sorted(set(found), key=ord)
            names = ", ".join(f"{code_point(c)} {char_name(c)}" for c in kinds[:5]) + (
                f" and {len(kinds) - 5} more kinds" if len(kinds) > 5 else ""
            )
            out.append(
                record_finding(
                    ex, "schema.hidden-chars", f"the {role} holds {len(found)} invisible character(s): {names}"
                )
            )
    return out
