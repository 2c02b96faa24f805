"""End-to-end: the real demo server driven by headless Chromium (Debian's /usr/bin/chromium via Playwright).

Submits a prompt, waits for the video, the 3D viewer's canvas and the BVH / GLB download links, asks a follow-up
("describe what you made") and waits for the second reply; saves a screenshot to the test's temporary folder
(and to docs/demo.png when MOTIONGPT_SAVE_SCREENSHOT=1). Uses the default model when present, else a
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


def bot_messages(page) -> list[str]:
    """Texts of the assistant's messages in the chat, oldest first."""
    return page.locator('#chat [data-testid="bot"]').all_inner_texts()


def test_two_turn_conversation_with_video_3d_view_and_downloads(server, tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.skip(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="python playwright not installed")
    url, store = server
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1200})
            page.goto(url, wait_until="domcontentloaded", timeout=60_000)
            box = page.locator("#message textarea")
            box.wait_for(timeout=60_000)
            box.fill("a person waves the right hand")
            page.locator("#send").click(timeout=TIMEOUT_MS)  # a loaded CPU renders the 3D view slowly
            page.locator("#video video").wait_for(timeout=TIMEOUT_MS)
            page.locator("#viewer canvas").wait_for(timeout=TIMEOUT_MS)  # the GLB in the 3D viewer
            for suffix in (".bvh", ".glb"):
                link = page.locator(f'#downloads a[download$="{suffix}"]')
                link.first.wait_for(timeout=TIMEOUT_MS)
                assert "/gradio_api/file=" in (link.first.get_attribute("href") or "")
            assert "Here is a motion for" in bot_messages(page)[0]
            box.fill("describe what you made")
            page.locator("#send").click(timeout=TIMEOUT_MS)  # a loaded CPU renders the 3D view slowly
            assert wait_until(lambda: len(bot_messages(page)) >= 2, TIMEOUT_MS / 1000), "no second reply"
            replies = bot_messages(page)
            assert len(replies) == 2 and replies[1].strip() and "something went wrong" not in replies[1]
            shot = tmp_path / "demo.png"
            page.screenshot(path=str(shot), full_page=True)
            assert list(store.root.glob("*/turn*/motion.glb")), "the GLB was not written in the session folder"
        finally:
            browser.close()
    assert shot.stat().st_size > 10_000
    assert wait_until(lambda: not any(store.root.iterdir()), UNLOAD_TIMEOUT_S), "session files kept after unload"
    if os.environ.get("MOTIONGPT_SAVE_SCREENSHOT") == "1":
        shutil.copyfile(shot, REPO_ROOT / "docs" / "demo.png")
