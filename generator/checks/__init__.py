"""Review rules → Findings. Pure functions over linked examples; every rule id is stable.

One module per rule family; the rule table (ids, default severities, meanings) is
generator.rules, and a dataset's config may override any severity (or turn the rule off).
Per record: schema, scope (fidelity and scope of the code), reasoning. Whole dataset:
boilerplate, duplicates, coverage.
"""

from ..rules import RULES
from .boilerplate import check_boilerplate, phrase_set
from .common import apply_severity
from .coverage import check_coverage
from .duplicates import check_duplicates, content_digest, near_duplicates
from .reasoning import (
    KnownNames,
    check_reasoning,
    code_names,
    mentioned_identifiers,
    string_literals,
    without_strings,
)
from .schema import check_schema
from .scope import check_fidelity_scope
from .words import shingles

__all__ = [
    "RULES",
    "KnownNames",
    "apply_severity",
    "check_boilerplate",
    "check_coverage",
    "check_duplicates",
    "check_fidelity_scope",
    "check_reasoning",
    "check_schema",
    "code_names",
    "content_digest",
    "mentioned_identifiers",
    "near_duplicates",
    "phrase_set",
    "shingles",
    "string_literals",
    "without_strings",
]
