"""End-to-end: the real demo server driven by headless Chromium (Debian's /usr/bin/chromium via Playwright).

Submits a prompt, waits for the video and the BVH download link, saves a screenshot to the test's temporary
folder (and to docs/demo.png when MOTIONGPT_SAVE_SCREENSHOT=1). Uses the default model when present, else a
tiny random pipeline (the page flow is the same; the motion is meaningless).
"""
from __future__ import annotations

import os
import shutil
import socket
import time
from pathlib import Path
from typing import Callable

import pytest

from motiongpt.demo.app import DemoSettings, SessionStore, build_demo
from motiongpt.paths import REPO_ROOT

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
TIMEOUT_MS = 180_000  # CPU generation + rendering on a busy 2-core machine
UNLOAD_TIMEOUT_S = 60.0  # Gradio notices a closed tab through its heartbeat


def wait_until(condition: Callable[[], bool], timeout_s: float) -> bool:
    """Poll `condition` every 0.2 s until it holds or `timeout_s` passes."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(demo_pipeline, tmp_path: Path):
    """The demo on 127.0.0.1:<free port> in this process; yields its URL and session store."""
    store = SessionStore(root=tmp_path / "sessions")
    demo = build_demo(demo_pipeline, DemoSettings(), store)
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True,
                allowed_paths=[str(store.root)], footer_links=[])
    try:
        yield f"http://127.0.0.1:{port}/", store
    finally:
        demo.close()


def test_prompt_gives_video_and_bvh_download(server, tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.skip(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="python playwright not installed")
    url, store = server
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(url, wait_until="domcontentloaded", timeout=60_000)
            box = page.locator("#message textarea")
            box.wait_for(timeout=60_000)
            box.fill("a person waves with the right hand")
            page.locator("#send").click()
            page.locator("#video video").wait_for(timeout=TIMEOUT_MS)
            bvh = page.locator('#downloads a[download$=".bvh"]')
            bvh.first.wait_for(timeout=TIMEOUT_MS)
            assert "/gradio_api/file=" in (bvh.first.get_attribute("href") or "")
            assert page.locator("#chat").get_by_text("Here is a motion for").count() >= 1
            shot = tmp_path / "demo.png"
            page.screenshot(path=str(shot), full_page=True)
            assert list(store.root.glob("*/turn*/motion.bvh")), "the BVH was not written in the session folder"
        finally:
            browser.close()
    assert shot.stat().st_size > 10_000
    assert wait_until(lambda: not any(store.root.iterdir()), UNLOAD_TIMEOUT_S), "session files kept after unload"
    if os.environ.get("MOTIONGPT_SAVE_SCREENSHOT") == "1":
        shutil.copyfile(shot, REPO_ROOT / "docs" / "demo.png")
