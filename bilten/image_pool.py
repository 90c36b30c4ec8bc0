"""Uploaded pictures are decoded and re-encoded in a small process pool, off the request slots.

A 155 KB PNG can unpack to 6320 x 6320 pixels and take 1.5 s of CPU to decode and shrink. Done on
an API worker thread it held one of the few request slots (and its database connection) that
long, and, holding the GIL, slowed every other request of the process: six at once stalled reads
for 6 s. Here the work (`services.media.prepare_image`: sniffing, the 40-megapixel cap, metadata
stripped) runs in IMAGE_WORKERS processes per web worker, awaited
from async code, so no thread or connection waits meanwhile. At most IMAGE_QUEUE pictures per web
worker are being processed or waiting; one more is refused at once with `Busy` (503 and
Retry-After), rather than queueing for ever.

The pool's processes are forked from the web worker on its first upload and then kept.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import threading
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from bilten.services import media
from bilten.services.errors import Busy
from bilten.settings import get_settings

RETRY_AFTER_SECONDS = 2  # about what one big picture takes

_lock = threading.Lock()
_executor: ProcessPoolExecutor | None = None
_in_flight = 0


def _pool() -> ProcessPoolExecutor:
    global _executor
    with _lock:
        if _executor is None:
            # Forked: a fork server or spawned child would import the web server's main module again.
            # The children only run Pillow on bytes they are given and leave with os._exit, so the
            # parent's threads, sockets and connections are never touched there.
            context = multiprocessing.get_context("fork")
            _executor = ProcessPoolExecutor(max_workers=max(get_settings().image_workers, 1), mp_context=context)
        return _executor


def _admit() -> None:
    global _in_flight
    with _lock:
        if _in_flight >= max(get_settings().image_queue, 1):
            raise Busy(RETRY_AFTER_SECONDS)
        _in_flight += 1


def _leave() -> None:
    global _in_flight
    with _lock:
        _in_flight -= 1


async def store_image(data: bytes, *, directory: Path | None = None) -> str:
    """`media.store_image` in the pool: the stored file's name, or its ImageTooLarge / UnsupportedImage.
    Busy when IMAGE_QUEUE pictures are already being processed or waiting in this process.

    The pool's process only decodes and re-encodes; the result is written to the storage (a local
    folder or the S3 bucket) from a thread of this process, so the forked children never share
    the storage's network connections."""
    _admit()
    try:
        loop = asyncio.get_running_loop()
        encoded, extension = await loop.run_in_executor(_pool(), media.prepare_image_in, data, media.max_upload_bytes())
        storage = media.picture_storage(directory)
        return await asyncio.to_thread(media.save_prepared, encoded, extension, storage=storage)
    finally:
        _leave()


def shutdown() -> None:
    """Stop the pool's processes (tests, benchmarks)."""
    global _executor
    with _lock:
        executor, _executor = _executor, None
    if executor is not None:
        executor.shutdown(wait=True, cancel_futures=True)
