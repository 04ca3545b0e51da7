"""Review, check and publish ChatML datasets back-translated from Rust source.

Stages, each its own module, with plain data (model.py) between them:

    load (JSONL → records) → index (Rust → items; lock) → link (records × items → segments,
    coverage) → checks (findings) → views (template contexts) → render (Markdown, HTML)
    → mkdocs_site (docs folder, mkdocs) → plan (every site file with a key) → place (write
    what changed)

pipeline.py runs load → checks for each dataset; build.py runs the whole sequence; state.py
owns every file kept between builds (memo, keys, manifests, caches); urls.py formats every
path, URL and anchor. The README's "How the code is laid out" says more.
"""

__version__ = "0.1.0"
