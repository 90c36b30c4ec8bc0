"""A few real Chromium tabs beside the simulated crowd: the "N left" a person reads.

The simulated tabs (bench/live_tab.py) speak the protocol; these render the event page from the
compiled frontend in Debian's headless Chromium, and a MutationObserver in each notes when the
number in the ticket type's "N left" changes. Playwright's sync API runs in a thread of its own
(the benchmark's buyers use asyncio in the main thread); every Playwright object stays in it.
"""

from __future__ import annotations

import queue
import shutil
import threading
import time
from collections.abc import Callable
from typing import Any

from playwright.sync_api import Page, sync_playwright

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
LOADED_TIMEOUT_MS = 120_000

# Every change of the first ticket type's "N left" as (Date.now() in ms, the number read).
WATCH_COUNT = """() => {
  const element = document.querySelector('.tickets-left');
  const read = () => Number((element.textContent || '').replace(/[^0-9]/g, ''));
  window.__benchCounts = [];
  new MutationObserver(() => window.__benchCounts.push([Date.now(), read()]))
    .observe(element, {childList: true, subtree: true, characterData: true});
  return read();
}"""


class RealTabs:
    """`count` Chromium tabs (one browser context each, as separate people) on `/events/<id>`."""

    def __init__(self, base_url: str, event_id: str, count: int) -> None:
        self.base_url, self.event_id, self.count = base_url, event_id, count
        self._commands: queue.Queue[tuple[Callable[[list[Page]], Any], queue.Queue[Any]]] = queue.Queue()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._ready: queue.Queue[BaseException | None] = queue.Queue()

    def __enter__(self) -> RealTabs:
        self._thread.start()
        failure = self._ready.get(timeout=LOADED_TIMEOUT_MS / 1000 * 2)
        if failure is not None:
            raise failure
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._call(None)
        self._thread.join(timeout=30)

    def start_watching(self) -> list[int]:
        """From now on every change is noted; returns each tab's number at this moment."""
        return self._call(lambda pages: [page.evaluate(WATCH_COUNT) for page in pages])

    def changes(self) -> list[list[tuple[float, int]]]:
        """Each tab's changes since `start_watching`, times on this process's monotonic clock."""
        raw = self._call(lambda pages: [page.evaluate("() => window.__benchCounts") for page in pages])
        offset = time.time() - time.monotonic()
        return [[(at_ms / 1000 - offset, left) for at_ms, left in tab] for tab in raw]

    def _call(self, work: Callable[[list[Page]], Any] | None) -> Any:
        answer: queue.Queue[Any] = queue.Queue()
        self._commands.put((work, answer))  # type: ignore[arg-type]
        if work is None:
            return None
        result = answer.get(timeout=120)
        if isinstance(result, BaseException):
            raise result
        return result

    def _run(self) -> None:
        chromium = shutil.which("chromium")
        try:
            assert chromium, "Debian's chromium is required (apt-get install -y chromium)"
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
                contexts = [
                    browser.new_context(base_url=self.base_url, locale="en-US", viewport={"width": 390, "height": 844})
                    for _ in range(self.count)
                ]
                pages = [context.new_page() for context in contexts]
                for page in pages:
                    page.goto(f"/events/{self.event_id}")
                    page.locator('#app-root[data-page="event"][data-loaded="true"]').wait_for(timeout=LOADED_TIMEOUT_MS)
                    page.locator(".tickets-left").first.wait_for(timeout=LOADED_TIMEOUT_MS)
                self._ready.put(None)
                self._serve(pages)
                browser.close()
        except BaseException as exc:  # noqa: BLE001 - handed to the benchmark's thread
            self._ready.put(exc)

    def _serve(self, pages: list[Page]) -> None:
        while True:
            work, answer = self._commands.get()
            if work is None:
                return
            try:
                answer.put(work(pages))
            except Exception as exc:  # noqa: BLE001 - handed to the caller
                answer.put(exc)
