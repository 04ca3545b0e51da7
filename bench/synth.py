"""Synthetic benchmark datasets: seeded, with code blocks that are real slices of the corpus.

Benchmark data only: written under bench/out/, never into dataset/.
"""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "dataset" / "retry_state_machine.toml"
LOCK = ROOT / "dataset" / "retry_state_machine.lock.json"
PROMPT = (
    "You are the Svix Maintainer AI, an expert in the internal svix-server Rust architecture, "
    "specializing in retry state machine and retry scheduling for webhook delivery."
)
WORDS = (
    "queue cache retry schedule attempt delivery webhook endpoint backoff broker redis outage incident "
    "latency budget error transient predicate worker message timeout slice tokio chrono duration state "
    "machine sleep borrow closure future loop bound config legacy array parse ack nack send enqueue"
).split()
VOICES = ["We need", "Can we", "Incident follow-up:", "Review comment:", "Refactor:", "Bug:", "Please", "Ops asks:"]


def corpus_blocks(source_root: Path) -> list[str]:
    """Whole in-scope items (with the file's imports), as a scoped dataset quotes them."""
    from generator.config import load_config
    from generator.index import index_source
    from generator.model import is_target

    cfg = load_config(ROOT / "dataset" / "retry_state_machine.jsonl")
    index, _ = index_source(source_root, list(cfg.scope_files))
    blocks = []
    for _path, f in sorted(index.files.items()):
        lines = f.text.split("\n")
        # the file's import section: top-level items from the first `use` while they are `use`s
        top = [i for i in f.items if not i.parent]
        first = next((k for k, i in enumerate(top) if i.kind == "use"), None)
        uses = []
        for i in top[first:] if first is not None else []:
            if i.kind != "use":
                break
            uses.append(i)
        imports = "\n".join(lines[uses[0].start_line - 1 : uses[-1].end_line]) if uses else ""
        for item in f.items:
            # what a scoped dataset quotes: its target items (or a container of them)
            inner = [c for c in f.items if item.start_line <= c.start_line and c.end_line <= item.end_line]
            if item.kind in ("use", "mod") or item.in_test or cfg.is_out(item.ident):
                continue
            if not any(is_target(cfg, c) for c in inner):
                continue
            body = "\n".join(lines[item.start_line - 1 : item.end_line])
            blocks.append(f"{imports}\n\n{body}" if imports else body)
    return blocks


_VOCAB: list[str] = []


def vocabulary(source_root: Path) -> list[str]:
    """Words people write about this code: the corpus's identifiers and comment words."""
    import re

    if not _VOCAB:
        words = set(WORDS)
        for path in sorted((source_root / "server/svix-server/src").rglob("*.rs")):
            for w in re.findall(r"[A-Za-z]{3,}", path.read_text(encoding="utf-8", errors="replace")):
                words.add(w.lower())
        _VOCAB.extend(sorted(words))
    return _VOCAB


def sentence(rng: random.Random, n: int) -> str:
    vocab = _VOCAB or WORDS
    return " ".join(rng.choice(vocab) for _ in range(n))


def synth_records(n: int, blocks: list[str], seed: int = 42):
    rng = random.Random(seed)
    for i in range(n):
        user = f"{rng.choice(VOICES)} {sentence(rng, rng.randint(12, 60))} (ticket {i})."
        think = (
            "The state machine sleeps with tokio; chrono stamps the next attempt. "
            f"{sentence(rng, rng.randint(60, 220))}."
        )
        code = blocks[rng.randrange(len(blocks))]
        yield {
            "type": "chatml",
            "messages": [
                {"role": "system", "content": PROMPT},
                {"role": "user", "content": user},
                {"role": "assistant", "content": f"<think>\n{think}\n</think>\n\n{code}"},
            ],
        }


def write_dataset(folder: Path, n: int, source_root: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"bench_{n}"
    jsonl = folder / f"{stem}.jsonl"
    blocks = corpus_blocks(source_root)
    _BLOCKS[:] = blocks
    vocabulary(source_root)
    with open(jsonl, "wb") as fh:
        for rec in synth_records(n, blocks):
            fh.write(orjson.dumps(rec) + b"\n")
    shutil.copy(CONFIG, folder / f"{stem}.toml")
    shutil.copy(LOCK, folder / f"{stem}.lock.json")
    return jsonl


def write_changed(original: Path, folder: Path, changes: int = 100, seed: int = 7) -> tuple[Path, dict]:
    """A copy of `original` (same stem, config and lock) with `changes` changes, a quarter each:
    reworded requests or reasoning, inserted records, deleted records, moved records. Returns
    the copy and what was done (by kind). The original is not touched."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    lines = original.read_bytes().rstrip(b"\n").split(b"\n")
    n = len(lines)
    each = changes // 4
    picked = rng.sample(range(n), 3 * each)
    edits, deletes, moves = picked[:each], set(picked[each : 2 * each]), picked[2 * each :]
    for i in edits:
        rec = orjson.loads(lines[i])
        role = rng.choice((1, 2))
        text = rec["messages"][role]["content"]
        words = text.split(" ")
        k = rng.randrange(1, min(len(words), 12))
        words[k] = "reworded"
        rec["messages"][role]["content"] = " ".join(words)
        lines[i] = orjson.dumps(rec)
    moved = [lines[i] for i in moves]
    keep = [line for i, line in enumerate(lines) if i not in deletes and i not in set(moves)]
    for line in moved:
        keep.insert(rng.randrange(len(keep) + 1), line)
    blocks = corpus_blocks_cached()
    for rec in synth_records(each, blocks, seed=seed + 1000):
        rec["messages"][1]["content"] = "Inserted: " + rec["messages"][1]["content"]
        keep.insert(rng.randrange(len(keep) + 1), orjson.dumps(rec))
    stem = original.stem
    out = folder / original.name
    out.write_bytes(b"\n".join(keep) + b"\n")
    shutil.copy(original.with_suffix(".toml"), folder / f"{stem}.toml")
    shutil.copy(original.with_name(f"{stem}.lock.json"), folder / f"{stem}.lock.json")
    return out, {"modified": each, "added": each, "removed": each, "moved": each}


_BLOCKS: list[str] = []


def corpus_blocks_cached() -> list[str]:
    return _BLOCKS
