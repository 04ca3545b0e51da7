"""Review, check and publish ChatML datasets back-translated from Rust source.

Stages: load (JSONL → records) → index (Rust → items) → link (records × items →
located segments, coverage) → check (findings) → views/render (Markdown) → build (mkdocs).
"""

__version__ = "0.1.0"
