"""Where files live: event pictures and exports, in a local folder or in S3-compatible object storage.

One small interface (`Storage`: put, open, read, exists, delete) with two implementations:

* `LocalStorage(root)`, the default: files under a folder (MEDIA_DIR for pictures, EXPORT_DIR for
  exports). Enough for one host, or several sharing a network file system.
* `S3Storage(bucket, prefix=...)` with STORAGE_BACKEND=s3: objects in one bucket of any
  S3-compatible service (AWS S3, MinIO, Ceph, Garage, R2 ...) through boto3, so web workers and
  `bilten worker` on several hosts see the same files. Pictures live under `<S3_PREFIX>media/`,
  exports under `<S3_PREFIX>exports/`. The bucket stays private: the app streams every file itself,
  so exports keep their authorization checks and no URL to the bucket ever leaves the server.

Keys are relative names made by the app (`<random hex>.png`, `<export uuid>.csv`), checked here
again: a key with `..`, an absolute path, a backslash or any character outside `[A-Za-z0-9._-/]`
is refused with `InvalidKey` before any file or object is touched. A key that names nothing
raises `MissingFile`. Writes are atomic: a reader sees the old file or the whole new one.
"""

from __future__ import annotations

import contextlib
import mimetypes
import os
import re
import secrets
import shutil
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal

from bilten.settings import Settings, get_settings

Area = Literal["media", "exports"]
CHUNK = 64 * 1024
_SEGMENT = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9._-]{0,199}$")
DEFAULT_CONTENT_TYPE = "application/octet-stream"


class StorageError(RuntimeError):
    """A file could not be stored or read."""


class InvalidKey(StorageError, ValueError):
    def __init__(self, key: object) -> None:
        super().__init__(f"not a storage key: {key!r} (relative names of letters, digits, . _ - and /)")


class MissingFile(StorageError, LookupError):
    def __init__(self, key: str) -> None:
        super().__init__(f"no stored file named {key!r}")
        self.key = key


def check_key(key: object) -> str:
    """The key when it is a plain relative name; InvalidKey otherwise (never a way out of the root)."""
    if not isinstance(key, str) or not key or len(key) > 512:
        raise InvalidKey(key)
    segments = key.split("/")
    if any(not _SEGMENT.match(part) or part in (".", "..") or part.strip(".") == "" for part in segments):
        raise InvalidKey(key)
    return key


@dataclass
class StoredFile:
    """An opened stored file. `path` is set for local files (a web server may send it straight from
    disk); otherwise read it with `chunks()`/`read()`, and `close()` it when done."""

    key: str
    size: int
    content_type: str
    path: Path | None = None
    _chunks: Callable[[int], Iterator[bytes]] = field(repr=False, default=lambda _size: iter(()))
    _close: Callable[[], None] = field(repr=False, default=lambda: None)

    def chunks(self, size: int = CHUNK) -> Iterator[bytes]:
        try:
            yield from self._chunks(size)
        finally:
            self.close()

    def read(self) -> bytes:
        return b"".join(self.chunks())

    def close(self) -> None:
        self._close()


class Storage(ABC):
    """What the app needs from a place that keeps files."""

    @abstractmethod
    def put(self, key: str, data: bytes | IO[bytes], content_type: str) -> None:
        """Store bytes (or everything a binary stream yields) under `key`, replacing any file there."""

    def put_file(self, key: str, path: Path, content_type: str) -> None:
        """Store a local file's content under `key`."""
        with open(path, "rb") as source:
            self.put(key, source, content_type)

    @abstractmethod
    def open(self, key: str) -> StoredFile:
        """The file under `key`; MissingFile when there is none."""

    def read(self, key: str) -> bytes:
        return self.open(key).read()

    @abstractmethod
    def exists(self, key: str) -> bool: ...

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove the file; nothing happens when there is none."""


class LocalStorage(Storage):
    """Files under one folder. The folder is made on the first write."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"LocalStorage({str(self.root)!r})"

    def _path(self, key: str) -> Path:
        path = self.root / check_key(key)
        # Belt and braces: whatever the key, the file is inside the root (symlinks included).
        root = self.root.resolve()
        if not path.resolve().is_relative_to(root):
            raise InvalidKey(key)
        return path

    def put(self, key: str, data: bytes | IO[bytes], content_type: str) -> None:
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        # Written under a temporary name first: a reader never sees half a file.
        temporary = target.parent / f".{target.name}.{secrets.token_hex(4)}.part"
        try:
            with open(temporary, "wb") as out:
                if isinstance(data, bytes | bytearray | memoryview):
                    out.write(data)
                else:
                    shutil.copyfileobj(data, out, CHUNK)
            os.replace(temporary, target)
        except BaseException:
            with contextlib.suppress(OSError):
                temporary.unlink(missing_ok=True)
            raise

    def open(self, key: str) -> StoredFile:
        path = self._path(key)
        try:
            size = path.stat().st_size
        except (FileNotFoundError, NotADirectoryError) as exc:
            raise MissingFile(key) from exc
        if not path.is_file():
            raise MissingFile(key)

        def chunks(size: int) -> Iterator[bytes]:
            with open(path, "rb") as source:
                while block := source.read(size):
                    yield block

        content_type = mimetypes.guess_type(path.name)[0] or DEFAULT_CONTENT_TYPE
        return StoredFile(key=key, size=size, content_type=content_type, path=path, _chunks=chunks)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)


class S3Storage(Storage):
    """Objects in an S3-compatible bucket, under `prefix` (e.g. "bilten/media/")."""

    def __init__(self, bucket: str, *, prefix: str = "", client: Any = None, **client_options: Any) -> None:
        if not bucket:
            raise StorageError("S3Storage needs a bucket name")
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        if prefix:
            check_key(prefix.rstrip("/"))
        self.bucket = bucket
        self.prefix = prefix
        self.client = client if client is not None else s3_client(**client_options)

    def __repr__(self) -> str:
        return f"S3Storage({self.bucket!r}, prefix={self.prefix!r})"

    def _key(self, key: str) -> str:
        return self.prefix + check_key(key)

    def put(self, key: str, data: bytes | IO[bytes], content_type: str) -> None:
        object_key = self._key(key)
        if isinstance(data, bytes | bytearray | memoryview):
            self.client.put_object(Bucket=self.bucket, Key=object_key, Body=bytes(data), ContentType=content_type)
        else:  # a stream: multipart upload in parts for big exports, one request for small ones
            self.client.upload_fileobj(data, self.bucket, object_key, ExtraArgs={"ContentType": content_type})

    def put_file(self, key: str, path: Path, content_type: str) -> None:
        self.client.upload_file(str(path), self.bucket, self._key(key), ExtraArgs={"ContentType": content_type})

    def open(self, key: str) -> StoredFile:
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
        except self.client.exceptions.NoSuchKey as exc:
            raise MissingFile(key) from exc
        body = answer["Body"]
        return StoredFile(
            key=key,
            size=int(answer.get("ContentLength", 0)),
            content_type=answer.get("ContentType") or DEFAULT_CONTENT_TYPE,
            _chunks=body.iter_chunks,
            _close=body.close,
        )

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._key(key))


_clients: dict[tuple, Any] = {}
_clients_lock = threading.Lock()


def s3_client(
    *,
    endpoint_url: str | None = None,
    region: str | None = None,
    access_key_id: str | None = None,
    secret_access_key: str | None = None,
) -> Any:
    """One boto3 client per process and configuration (boto3 clients are thread-safe and slow to make).
    Without keys boto3 looks for credentials as usual (environment, instance role)."""
    key = (os.getpid(), endpoint_url, region, access_key_id, secret_access_key)
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            import boto3
            from botocore.config import Config

            client = boto3.session.Session().client(
                "s3",
                endpoint_url=endpoint_url or None,
                region_name=region or None,
                aws_access_key_id=access_key_id or None,
                aws_secret_access_key=secret_access_key or None,
                config=Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=5, read_timeout=30),
            )
            _clients[key] = client
        return client


def get_storage(area: Area, settings: Settings | None = None) -> Storage:
    """Where pictures ("media") or exports ("exports") are kept, as the settings say (read each call:
    cheap, and tests may change the settings)."""
    settings = settings or get_settings()
    if settings.storage_backend == "s3":
        secret = settings.s3_secret_access_key
        return S3Storage(
            settings.s3_bucket or "",
            prefix=f"{settings.s3_prefix}/{area}/" if settings.s3_prefix else f"{area}/",
            endpoint_url=settings.s3_endpoint_url,
            region=settings.s3_region,
            access_key_id=settings.s3_access_key_id,
            secret_access_key=secret.get_secret_value() if secret else None,
        )
    return LocalStorage(settings.media_dir if area == "media" else settings.export_dir)
