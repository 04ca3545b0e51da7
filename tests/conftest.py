"""Shared paths and builders for the tests. Test fixtures are built here, in code, so each
planted defect sits at a known line; they are test data, never training data."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import orjson
import pytest
from hypothesis import settings

# CI runs the property tests on a fixed sequence of examples (the same on every run, so a red
# build is reproducible); locally they explore new examples each run.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

ROOT = Path(__file__).resolve().parent.parent
CORPUS = Path(os.environ.get("TEST_CORPUS", ROOT.parent / "shared" / "corpus" / "svix-webhooks"))
DATASET = ROOT / "dataset" / "retry_state_machine.jsonl"
CONFIG = ROOT / "dataset" / "retry_state_machine.toml"
LOCK = ROOT / "dataset" / "retry_state_machine.lock.json"
RETRY = "server/svix-server/src/core/retry.rs"
QUEUE = "server/svix-server/src/queue/mod.rs"
CACHE = "server/svix-server/src/core/cache/mod.rs"
WORKER = "server/svix-server/src/worker.rs"
CFG = "server/svix-server/src/cfg.rs"
PROMPT = (
    "You are the Svix Maintainer AI, an expert in the internal svix-server Rust architecture, "
    "specializing in retry state machine and retry scheduling for webhook delivery."
)


def source_lines(path: str, start: int, end: int) -> str:
    """Lines start..end (1-based, inclusive) of a corpus file, exactly."""
    lines = (CORPUS / path).read_text(encoding="utf-8").split("\n")
    return "\n".join(lines[start - 1 : end])


def record(user: str, think: str, code: str, system: str = PROMPT, **extra) -> dict:
    rec = {
        "type": "chatml",
        "messages": [
            {"role": "system", "content": system},
            {"role": "user", "content": user},
            {"role": "assistant", "content": f"<think>\n{think}\n</think>\n\n{code}"},
        ],
    }
    rec.update(extra)
    return rec


def dumps(rec) -> bytes:
    return orjson.dumps(rec)


def make_dataset(folder: Path, stem: str, lines: list[bytes], lock: bool = True) -> Path:
    """A dataset folder with the committed config (and lock) under a new stem."""
    folder.mkdir(parents=True, exist_ok=True)
    jsonl = folder / f"{stem}.jsonl"
    jsonl.write_bytes(b"".join(line + b"\n" for line in lines))
    shutil.copy(CONFIG, folder / f"{stem}.toml")
    if lock:
        shutil.copy(LOCK, folder / f"{stem}.lock.json")
    return jsonl


THINK = (
    "The Retry state machine sleeps with tokio between attempts; chrono is not involved because the "
    "delays are relative. A borrowed schedule slice is consumed one entry per retry."
)


def clean_records() -> list[dict]:
    """Records that break no rule (each quotes whole in-scope items verbatim)."""
    imports = source_lines(RETRY, 1, 3)
    return [
        record(
            "We need a helper that keeps retrying an async call on transient errors.",
            THINK,
            imports + "\n\n" + source_lines(RETRY, 5, 21),
        ),
        record(
            "Queue operations should get a few quick retries when the broker hiccups.",
            "The queue uses a const slice of tokio-friendly millisecond delays; chrono plays no part here, and "
            "only `ErrorType::Queue` errors are retried by `should_retry`.",
            source_lines(QUEUE, 20, 24) + "\n\n" + source_lines(QUEUE, 28, 30),
        ),
        record(
            "Please document the state machine type so people know why it exists.",
            "`Retry` holds the schedule and the predicate; tokio sleeps happen in `Retry::run`, and chrono is "
            "only used by the worker.",
            imports + "\n\n" + source_lines(RETRY, 23, 30),
        ),
    ]


@pytest.fixture(scope="session")
def corpus() -> Path:
    if not (CORPUS / RETRY).is_file():
        pytest.fail(f"the source corpus is missing at {CORPUS}")
    return CORPUS


def copy_project(tmp_path) -> Path:
    """The project's inputs (docs, mkdocs.yml, dataset) in a folder of their own."""
    project = tmp_path / "project"
    shutil.copytree(ROOT / "docs", project / "docs")
    shutil.copy(ROOT / "mkdocs.yml", project / "mkdocs.yml")
    shutil.copytree(ROOT / "dataset", project / "dataset")
    return project


def build_main(*args: str) -> int:
    from generator.__main__ import main

    return main(["build", "--quiet", *args])


def build_dataset(jsonl: Path, work: Path, out: Path, source: Path = CORPUS, cwd: Path = ROOT) -> int:
    """`build --dataset JSONL`, run in `cwd` (the project whose mkdocs.yml and docs/ it uses)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(cwd)
        return build_main("--dataset", str(jsonl), "--source-root", str(source), "--work", str(work), "--out", str(out))


# --- built sites, shared: tests read them and never change them -------------------------------
@pytest.fixture(scope="session")
def built_project(tmp_path_factory) -> Path:
    """A copy of the project built once (work folder build/, site folder site/) at project_path(),
    then kept pristine elsewhere: the `project` fixture puts it back at that path for each test,
    where its manifests and caches are those of a build made there."""
    here = project_path(tmp_path_factory)
    copy_project(here.parent)
    dataset = (here / "dataset/retry_state_machine.jsonl").read_bytes()
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(here)
        assert build_main("--work", str(here / "build"), "--out", str(here / "site"), "--source-root", str(CORPUS)) == 0
    assert (here / "dataset/retry_state_machine.jsonl").read_bytes() == dataset == DATASET.read_bytes()
    pristine = tmp_path_factory.mktemp("built-project") / "project"
    shutil.copytree(here, pristine, symlinks=True)  # time stamps kept (copy2)
    return pristine


def _writable_and_again(func, path, _exc):
    """rmtree's error handler: a test may leave a folder read-only; make it writable, retry."""
    os.chmod(Path(path).parent, 0o755)
    if os.path.isdir(path) and not os.path.islink(path):
        os.chmod(path, 0o755)
    func(path)


def project_path(tmp_path_factory) -> Path:
    return tmp_path_factory.getbasetemp() / "project-under-test" / "project"


@pytest.fixture(scope="session")
def committed_site(built_project) -> Path:
    """The site of the committed dataset, built from nothing."""
    return built_project / "site"


@pytest.fixture(scope="session")
def committed_digest(committed_site) -> dict[str, str]:
    """digest_tree of the committed dataset's site built from nothing (what a fresh build of the
    unchanged project gives)."""
    from test_site import digest_tree

    return digest_tree(committed_site)


@pytest.fixture
def project(built_project, tmp_path_factory, monkeypatch) -> Path:
    """The built project, the test's own to change, at the path it was built at."""
    here = project_path(tmp_path_factory)
    shutil.rmtree(here.parent, onerror=_writable_and_again)  # the last test's copy, whatever it left
    here.parent.mkdir()
    shutil.copytree(built_project, here, symlinks=True)
    monkeypatch.chdir(here)
    return here


@pytest.fixture(scope="session")
def fixture_site(tmp_path_factory):
    """The site of test_checks' fixture records, with a broken line 4 (reported, skipped)."""
    from test_checks import fixture_records

    tmp = tmp_path_factory.mktemp("fixture-site")
    lines = [dumps(r) for r, _ in fixture_records()]
    lines.insert(3, b"{this line is broken")
    jsonl = make_dataset(tmp / "ds", "fixture", lines)
    before = jsonl.read_bytes()
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(ROOT)
        assert (
            build_main(
                "--work",
                str(tmp / "work"),
                "--out",
                str(tmp / "site"),
                "--dataset",
                str(jsonl),
                "--source-root",
                str(CORPUS),
            )
            == 0
        )
    assert jsonl.read_bytes() == before
    return tmp / "site", jsonl


# --- browser fixtures ------------------------------------------------------------------------
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
ARTIFACTS = ROOT / "tests" / "artifacts"


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: .ci/run installs Debian's chromium")
        pytest.skip(f"{CHROMIUM} not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


class Served:
    """A folder served over HTTP on 127.0.0.1 (a thread, stopped at teardown), answering Range
    requests as GitHub Pages or nginx do (the search reads its database in pieces)."""

    def __init__(self, folder: Path):
        from generator.rangeserve import serve_in_thread

        self.httpd, self.base = serve_in_thread(folder)

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    @classmethod
    def under_subpath(cls, site: Path) -> Served:
        """Serve `site` as /site/ (a sub-path, as an intranet publishes it)."""
        root = site.parent / "serve"
        root.mkdir(exist_ok=True)
        if not (root / "site").exists():
            (root / "site").symlink_to(site)
        return cls(root)


def offline_page(browser, **kw):
    """A new page whose requests to anything but localhost are blocked and recorded."""
    ctx = browser.new_context(**kw)
    blocked: list[str] = []

    def route(r):
        url = r.request.url
        if url.startswith(("http://127.0.0.1", "http://localhost", "data:", "blob:")):
            r.continue_()
        else:
            blocked.append(url)
            r.abort()

    ctx.route("**/*", route)
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.blocked = blocked  # type: ignore[attr-defined]
    page.errors = errors  # type: ignore[attr-defined]
    return page


# --- forked children (generator/halves.py) ----------------------------------------------------
@pytest.fixture
def forks(monkeypatch) -> list[int]:
    """The pids of the children this test forks (os.fork, recorded)."""
    pids: list[int] = []
    real = os.fork

    def fork() -> int:
        pid = real()
        if pid:
            pids.append(pid)
        return pid

    monkeypatch.setattr(os, "fork", fork)
    return pids


def reaped(pids: list[int]) -> bool:
    """Every child in pids has been waited for (waitpid on a reaped pid raises)."""
    for pid in pids:
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            continue
        return False
    return True
