"""Every review rule: its stable id, default severity and meaning. The one table that checks,
config validation and the site's rule reference read (it imports nothing of theirs)."""

from __future__ import annotations

from typing import NamedTuple

from .model import Finding, Location, Severity


class Rule(NamedTuple):
    severity: Severity  # the default; a dataset's config may override it or turn the rule off
    meaning: str


ERROR, WARNING, INFO = Severity.ERROR, Severity.WARNING, Severity.INFO

RULES: dict[str, Rule] = {
    "schema.bom": Rule(WARNING, "file starts with a UTF-8 byte order mark"),
    "schema.crlf": Rule(WARNING, "CRLF line endings"),
    "schema.blank-line": Rule(WARNING, "blank line"),
    "schema.no-final-newline": Rule(INFO, "last line without a final newline"),
    "schema.large-line": Rule(WARNING, "a line over 1 MiB"),
    "schema.utf8": Rule(ERROR, "line is not valid UTF-8"),
    "schema.json": Rule(ERROR, "line is not valid JSON (or is truncated)"),
    "schema.shape": Rule(ERROR, "not the ChatML shape: type, roles system → user → assistant, string contents"),
    "schema.duplicate-key": Rule(ERROR, "a key occurs twice in one object"),
    "schema.extra-keys": Rule(INFO, "keys beyond the schema (kept)"),
    "schema.system-prompt": Rule(ERROR, "system prompt differs from the dataset's config"),
    "schema.assistant-format": Rule(ERROR, "assistant is not <think>\\n…\\n</think>\\n\\n followed by code"),
    "schema.think-tags": Rule(ERROR, "a <think> or </think> tag outside its place"),
    "schema.hidden-chars": Rule(
        ERROR,
        "invisible characters (bidi or format controls, TAG characters, zero-width or blank fillers, control "
        "characters) in the record's text",
    ),
    "fidelity.not-verbatim": Rule(ERROR, "code differs from the pinned source"),
    "fidelity.not-found": Rule(ERROR, "code not found in the pinned source"),
    "fidelity.fragment": Rule(ERROR, "code covers only part of an item"),
    "fidelity.foreign-imports": Rule(ERROR, "imports given as context are not the quoted file's own"),
    "fidelity.ambiguous": Rule(INFO, "identical text exists in more than one place"),
    "scope.file": Rule(ERROR, "code from a file outside the dataset's scope"),
    "scope.out": Rule(ERROR, "code from an item the config marks out of scope"),
    "scope.test-module": Rule(ERROR, "code from a test module"),
    "scope.untargeted": Rule(WARNING, "code from an item the scope does not name"),
    "reasoning.required-term": Rule(ERROR, "the think block lacks a required term"),
    "reasoning.unknown-identifier": Rule(ERROR, "an identifier that exists nowhere (hallucination)"),
    "reasoning.boilerplate": Rule(WARNING, "a phrase recurs in more than the configured share of reasoning blocks"),
    "duplicates.identical": Rule(ERROR, "identical records"),
    "duplicates.near": Rule(WARNING, "near-duplicate requests"),
    "coverage.uncovered": Rule(WARNING, "an in-scope item no example covers"),
    "coverage.missing-name": Rule(WARNING, "a name the config expects that the source does not define"),
    "coverage.scope-unmatched": Rule(WARNING, "a scope selector that matches no item"),
    "drift.lock-commit": Rule(ERROR, "the lock pins another commit than the config"),
    "drift.file-missing": Rule(ERROR, "a locked file is missing from the source root"),
    "drift.file-changed": Rule(WARNING, "a source file differs from the lock"),
    "drift.item-gone": Rule(ERROR, "a locked item no longer exists"),
    "drift.item-changed": Rule(WARNING, "a locked item's text changed"),
    "drift.item-moved": Rule(WARNING, "a locked item moved"),
    "drift.item-new": Rule(INFO, "an item not in the lock"),
    "drift.file-new": Rule(INFO, "a scoped file not in the lock"),
    "drift.example": Rule(ERROR, "an example's code no longer matches the source root"),
    "source.unreadable": Rule(ERROR, "a source file cannot be used"),
    "source.too-large": Rule(ERROR, "a source file over source.max_file_bytes (skipped)"),
    "source.parse-timeout": Rule(ERROR, "tree-sitter gave up parsing a source file in time (skipped)"),
}


def finding(rule: str, at: Location, message: str, dataset: str = "", detail: str = "") -> Finding:
    """A finding of `rule` at its default severity (the config's overrides apply later)."""
    return Finding(rule, RULES[rule].severity, at, message, dataset, detail)
