"""Every review rule: its stable id, default severity and meaning. The one table that checks,
config validation and the site's rule reference read (it imports nothing of theirs)."""

from __future__ import annotations

from typing import NamedTuple

from .model import Finding, Location, Severity


class Rule(NamedTuple):
    severity: Severity  # the default; a dataset's config may override it or turn the rule off
    meaning: str


E, W, I = Severity.ERROR, Severity.WARNING, Severity.INFO

RULES: dict[str, Rule] = {
    "schema.bom": Rule(W, "file starts with a UTF-8 byte order mark"),
    "schema.crlf": Rule(W, "CRLF line endings"),
    "schema.blank-line": Rule(W, "blank line"),
    "schema.no-final-newline": Rule(I, "last line without a final newline"),
    "schema.large-line": Rule(W, "a line over 1 MiB"),
    "schema.utf8": Rule(E, "line is not valid UTF-8"),
    "schema.json": Rule(E, "line is not valid JSON (or is truncated)"),
    "schema.shape": Rule(E, "not the ChatML shape: type, roles system → user → assistant, string contents"),
    "schema.duplicate-key": Rule(E, "a key occurs twice in one object"),
    "schema.extra-keys": Rule(I, "keys beyond the schema (kept)"),
    "schema.system-prompt": Rule(E, "system prompt differs from the dataset's config"),
    "schema.assistant-format": Rule(E, "assistant is not <think>\\n…\\n</think>\\n\\n followed by code"),
    "schema.think-tags": Rule(E, "a <think> or </think> tag outside its place"),
    "schema.hidden-chars": Rule(
        E,
        "invisible characters (bidi or format controls, TAG characters, zero-width or blank fillers, control characters) in the record's text",
    ),
    "fidelity.not-verbatim": Rule(E, "code differs from the pinned source"),
    "fidelity.not-found": Rule(E, "code not found in the pinned source"),
    "fidelity.fragment": Rule(E, "code covers only part of an item"),
    "fidelity.foreign-imports": Rule(E, "imports given as context are not the quoted file's own"),
    "fidelity.ambiguous": Rule(I, "identical text exists in more than one place"),
    "scope.file": Rule(E, "code from a file outside the dataset's scope"),
    "scope.out": Rule(E, "code from an item the config marks out of scope"),
    "scope.test-module": Rule(E, "code from a test module"),
    "scope.untargeted": Rule(W, "code from an item the scope does not name"),
    "reasoning.required-term": Rule(E, "the think block lacks a required term"),
    "reasoning.unknown-identifier": Rule(E, "an identifier that exists nowhere (hallucination)"),
    "reasoning.boilerplate": Rule(W, "a phrase recurs in more than the configured share of reasoning blocks"),
    "duplicates.identical": Rule(E, "identical records"),
    "duplicates.near": Rule(W, "near-duplicate requests"),
    "coverage.uncovered": Rule(W, "an in-scope item no example covers"),
    "coverage.missing-name": Rule(W, "a name the config expects that the source does not define"),
    "coverage.scope-unmatched": Rule(W, "a scope selector that matches no item"),
    "drift.lock-commit": Rule(E, "the lock pins another commit than the config"),
    "drift.file-missing": Rule(E, "a locked file is missing from the source root"),
    "drift.file-changed": Rule(W, "a source file differs from the lock"),
    "drift.item-gone": Rule(E, "a locked item no longer exists"),
    "drift.item-changed": Rule(W, "a locked item's text changed"),
    "drift.item-moved": Rule(W, "a locked item moved"),
    "drift.item-new": Rule(I, "an item not in the lock"),
    "drift.file-new": Rule(I, "a scoped file not in the lock"),
    "drift.example": Rule(E, "an example's code no longer matches the source root"),
    "source.unreadable": Rule(E, "a source file cannot be used"),
    "source.too-large": Rule(E, "a source file over source.max_file_bytes (skipped)"),
    "source.parse-timeout": Rule(E, "tree-sitter gave up parsing a source file in time (skipped)"),
}


def finding(rule: str, at: Location, message: str, dataset: str = "", detail: str = "") -> Finding:
    """A finding of `rule` at its default severity (the config's overrides apply later)."""
    return Finding(rule, RULES[rule].severity, at, message, dataset, detail)
