"""Sending a stored file (bilten/storage.py) as a response: straight from disk for local storage,
streamed in chunks from the bucket for S3. Either way the file passes through the app, so the
route's own checks (an export's team, a picture's name) still decide who gets it."""

from __future__ import annotations

from urllib.parse import quote

from fastapi.responses import FileResponse, Response, StreamingResponse

from bilten.storage import StoredFile


def stored_file_response(found: StoredFile, *, headers: dict[str, str], filename: str | None = None) -> Response:
    if found.path is not None:
        return FileResponse(found.path, media_type=found.content_type, filename=filename, headers=headers)
    sent = {**headers, "Content-Length": str(found.size)}
    if filename is not None:
        quoted = quote(filename)
        sent["Content-Disposition"] = (
            f"attachment; filename*=utf-8''{quoted}" if quoted != filename else f'attachment; filename="{filename}"'
        )
    return StreamingResponse(found.chunks(), media_type=found.content_type, headers=sent)
