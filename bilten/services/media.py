"""Uploaded pictures: checked by their content, re-encoded without metadata, stored under a random name.

Nothing of the upload is kept as sent: the file is decoded by Pillow (so a script renamed `.png`
is refused), limited in bytes and in pixels (a small file that unpacks into gigabytes is a
"decompression bomb"), turned upright, shrunk to MAX_DIMENSION, and written again in its own
format with no EXIF, GPS or comments, under a name nobody can guess or choose.

The files go to the "media" storage (bilten/storage.py): MEDIA_DIR, or the shared S3 bucket, so a
picture uploaded through one web worker is served by every other. `prepare_image` (CPU only) and
`save_prepared` (the write) are separate so the image pool's processes never talk to the storage.
"""

from __future__ import annotations

import io
import re
import secrets
import warnings
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from bilten.services.errors import ImageTooLarge, NotFound, UnsupportedImage
from bilten.settings import get_settings
from bilten.storage import LocalStorage, MissingFile, Storage, StoredFile, get_storage

MAX_DIMENSION = 1600  # pixels on the longer side once stored
MAX_PIXELS = 40_000_000  # refused before decoding: 40 megapixels is more than any camera picture needs
# Pillow's format name -> (file extension, content type)
FORMATS = {
    "JPEG": ("jpg", "image/jpeg"),
    "PNG": ("png", "image/png"),
    "WEBP": ("webp", "image/webp"),
}
CONTENT_TYPES = {extension: content_type for extension, content_type in FORMATS.values()}
STORED_NAME = re.compile(r"^[0-9a-f]{32}\.(jpg|png|webp)$")
MEDIA_URL_PREFIX = "/api/media/"


def media_dir() -> Path:
    return Path(get_settings().media_dir)


def max_upload_bytes() -> int:
    return get_settings().max_upload_mb * 1024 * 1024


def picture_storage(directory: Path | None = None) -> Storage:
    """Where pictures are kept: `directory` when given (tests), else as the settings say."""
    return LocalStorage(directory) if directory is not None else get_storage("media")


def store_image(
    data: bytes, *, directory: Path | None = None, max_bytes: int | None = None, storage: Storage | None = None
) -> str:
    """Check, clean and store an uploaded picture; returns its stored file name.

    Raises ImageTooLarge (bytes or pixels) or UnsupportedImage (anything but JPEG, PNG or WebP)."""
    encoded, extension = prepare_image(data, max_bytes=max_bytes)
    return save_prepared(encoded, extension, storage=storage or picture_storage(directory))


def prepare_image(data: bytes, *, max_bytes: int | None = None) -> tuple[bytes, str]:
    """The cleaned picture's bytes and file extension (no storage touched: runs in the image pool)."""
    limit = max_bytes if max_bytes is not None else max_upload_bytes()
    if len(data) > limit:
        raise ImageTooLarge(max_mb=round(limit / (1024 * 1024), 1))
    image = _decode(data)
    extension, _ = FORMATS[image.format or ""]
    cleaned = _clean(image)
    output = io.BytesIO()
    if extension == "jpg":
        cleaned.save(output, "JPEG", quality=85, optimize=True, progressive=True)
    elif extension == "png":
        cleaned.save(output, "PNG", optimize=True)
    else:
        cleaned.save(output, "WEBP", quality=85)
    return output.getvalue(), extension


def prepare_image_in(data: bytes, max_bytes: int) -> tuple[bytes, str]:
    """`prepare_image` with plain arguments, for a worker process (bilten/image_pool.py)."""
    return prepare_image(data, max_bytes=max_bytes)


def save_prepared(encoded: bytes, extension: str, *, storage: Storage | None = None) -> str:
    """Store a picture made by `prepare_image` under a new random name; returns the name."""
    name = f"{secrets.token_hex(16)}.{extension}"
    (storage or picture_storage()).put(name, encoded, CONTENT_TYPES[extension])
    return name


def _decode(data: bytes) -> Image.Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if image.format not in FORMATS:
                raise UnsupportedImage()
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise ImageTooLarge(max_mb=round(max_upload_bytes() / (1024 * 1024), 1))
            image.seek(0)  # an animation keeps its first frame only
            image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageTooLarge(max_mb=round(max_upload_bytes() / (1024 * 1024), 1)) from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        raise UnsupportedImage() from exc
    return image


def _clean(image: Image.Image) -> Image.Image:
    """Upright, at most MAX_DIMENSION, in a plain pixel mode, with no metadata attached."""
    kind = image.format
    image = ImageOps.exif_transpose(image)
    if kind == "JPEG":
        image = image.convert("RGB")
    elif image.mode not in ("RGB", "RGBA", "L", "LA"):
        image = image.convert("RGBA")
    image.thumbnail((MAX_DIMENSION, MAX_DIMENSION), Image.Resampling.LANCZOS)
    # A fresh image holds pixels only: no EXIF, ICC profile, XMP or text chunks come along.
    clean = Image.new(image.mode, image.size)
    clean.paste(image)
    return clean


def media_url(name: str) -> str:
    return MEDIA_URL_PREFIX + name


def open_picture(name: str, *, directory: Path | None = None, storage: Storage | None = None) -> StoredFile:
    """A stored picture, opened, with its content type; NotFound for any other name (no path tricks:
    only names this module makes are accepted, and they hold no separators) or a missing file."""
    if not STORED_NAME.match(name or ""):
        raise NotFound()
    try:
        found = (storage or picture_storage(directory)).open(name)
    except MissingFile as exc:
        raise NotFound() from exc
    found.content_type = CONTENT_TYPES[name.rsplit(".", 1)[1]]
    return found


def check_picture(name: str, *, storage: Storage | None = None) -> None:
    """NotFound unless `name` is a picture this module stored."""
    if not STORED_NAME.match(name or "") or not (storage or picture_storage()).exists(name):
        raise NotFound()
