"""The storage contract (bilten/storage.py), the same tests for a local folder and for an S3 bucket
served over HTTP by a local S3-compatible server and reached with the real boto3."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from bilten.settings import ConfigurationError, Settings
from bilten.storage import InvalidKey, LocalStorage, MissingFile, S3Storage, Storage, get_storage, s3_client
from tests.s3_support import ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY, LocalS3

ATTEMPTS = [
    "../outside.txt",
    "../../etc/passwd",
    "a/../../outside.txt",
    "/etc/passwd",
    "..",
    ".",
    "",
    "a//b.txt",
    "a/./b.txt",
    ".hidden",
    "a\\..\\b.txt",
    "%2e%2e/outside.txt",
    "nul\x00byte.txt",
    "with space.txt",
    "trailing/",
    "x" * 600,
]


@pytest.fixture(scope="module")
def local_s3() -> Iterator[LocalS3]:
    with LocalS3() as server:
        yield server


def s3_storage(s3: LocalS3, bucket: str, prefix: str = "") -> S3Storage:
    return S3Storage(
        bucket,
        prefix=prefix,
        endpoint_url=s3.endpoint_url,
        region=REGION,
        access_key_id=ACCESS_KEY_ID,
        secret_access_key=SECRET_ACCESS_KEY,
    )


@pytest.fixture(params=["local", "s3"])
def backend(request, tmp_path, local_s3) -> tuple[Storage, object]:
    """A storage and a way to list everything it holds (to check a refused write wrote nothing)."""
    if request.param == "local":
        root = tmp_path / "root"
        storage: Storage = LocalStorage(root)
        return storage, lambda: sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    bucket = local_s3.new_bucket()
    return s3_storage(local_s3, bucket, prefix="site/media/"), lambda: local_s3.keys(bucket)


def test_put_then_open_read_exists(backend):
    storage, _ = backend
    storage.put("poster.png", b"\x89PNG picture bytes", "image/png")
    assert storage.exists("poster.png")
    found = storage.open("poster.png")
    assert (found.key, found.size, found.content_type) == ("poster.png", 18, "image/png")
    assert found.read() == b"\x89PNG picture bytes"
    assert storage.read("poster.png") == b"\x89PNG picture bytes"


def test_overwrite_replaces_the_whole_file(backend):
    storage, listing = backend
    storage.put("report.csv", b"a,b\n" * 1000, "text/csv")
    before = listing()
    storage.put("report.csv", b"new\n", "text/csv")
    assert storage.read("report.csv") == b"new\n" and storage.open("report.csv").size == 4
    assert listing() == before  # no temporary file left behind


def test_streams_and_files_are_stored_in_parts_and_read_in_chunks(backend, tmp_path):
    storage, _ = backend
    big = os.urandom(9 * 1024 * 1024)  # above boto3's multipart threshold (8 MB)
    storage.put("nested/big.bin", io.BytesIO(big), "application/octet-stream")
    chunks = list(storage.open("nested/big.bin").chunks(1024 * 1024))
    assert len(chunks) >= 9 and b"".join(chunks) == big
    local = tmp_path / "export.xlsx"
    local.write_bytes(b"PK\x03\x04 spreadsheet")
    storage.put_file("export.xlsx", local, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    assert storage.read("export.xlsx") == b"PK\x03\x04 spreadsheet"


def test_a_missing_key_is_a_clear_error(backend):
    storage, _ = backend
    with pytest.raises(MissingFile, match="no stored file named 'nothing.png'") as missing:
        storage.open("nothing.png")
    assert missing.value.key == "nothing.png"
    assert not storage.exists("nothing.png")
    storage.delete("nothing.png")  # deleting what is not there is no error


def test_delete_removes(backend):
    storage, listing = backend
    storage.put("gone.txt", b"x", "text/plain")
    storage.delete("gone.txt")
    assert not storage.exists("gone.txt") and listing() == []
    with pytest.raises(MissingFile):
        storage.read("gone.txt")


@pytest.mark.parametrize("key", ATTEMPTS)
def test_keys_that_could_leave_the_root_are_refused_for_every_operation(backend, key):
    storage, listing = backend
    for attempt in (
        lambda: storage.put(key, b"owned", "text/plain"),
        lambda: storage.open(key),
        lambda: storage.exists(key),
        lambda: storage.delete(key),
    ):
        with pytest.raises(InvalidKey):
            attempt()
    assert listing() == []


def test_a_symlink_out_of_the_local_root_is_not_followed(tmp_path):
    secret = tmp_path / "secret_key"
    secret.write_text("do not serve")
    root = tmp_path / "media"
    root.mkdir()
    (root / "link.png").symlink_to(secret)
    (root / "dir").symlink_to(tmp_path)
    storage = LocalStorage(root)
    for key in ("link.png", "dir/secret_key"):
        with pytest.raises(InvalidKey):
            storage.read(key)
    with pytest.raises(InvalidKey):
        storage.put("dir/new.txt", b"x", "text/plain")
    assert not (tmp_path / "new.txt").exists()


def test_prefixes_keep_areas_apart_in_one_bucket(local_s3):
    bucket = local_s3.new_bucket()
    media, exports = s3_storage(local_s3, bucket, "a/media"), s3_storage(local_s3, bucket, "a/exports")
    media.put("same.csv", b"picture", "image/png")
    exports.put("same.csv", b"export", "text/csv")
    assert media.read("same.csv") == b"picture" and exports.read("same.csv") == b"export"
    assert local_s3.keys(bucket) == ["a/exports/same.csv", "a/media/same.csv"]


def test_settings_choose_the_backend(local_s3, tmp_path):
    local = Settings(MEDIA_DIR=tmp_path / "m", EXPORT_DIR=tmp_path / "e")
    assert isinstance(get_storage("media", local), LocalStorage)
    assert get_storage("media", local).root == tmp_path / "m"
    assert get_storage("exports", local).root == tmp_path / "e"

    bucket = local_s3.new_bucket()
    s3 = Settings(
        STORAGE_BACKEND="s3",
        S3_BUCKET=bucket,
        S3_ENDPOINT_URL=local_s3.endpoint_url,
        S3_REGION=REGION,
        S3_ACCESS_KEY_ID=ACCESS_KEY_ID,
        S3_SECRET_ACCESS_KEY=SECRET_ACCESS_KEY,
        S3_PREFIX="/bilten/",
    )
    media = get_storage("media", s3)
    assert isinstance(media, S3Storage) and media.prefix == "bilten/media/"
    media.put("x.png", b"x", "image/png")
    get_storage("exports", s3).put("x.csv", b"y", "text/csv")
    assert local_s3.keys(bucket) == ["bilten/exports/x.csv", "bilten/media/x.png"]
    # One client per process and configuration, reused.
    assert (
        media.client
        is get_storage("exports", s3).client
        is s3_client(
            endpoint_url=local_s3.endpoint_url,
            region=REGION,
            access_key_id=ACCESS_KEY_ID,
            secret_access_key=SECRET_ACCESS_KEY,
        )
    )
    # The secret never shows in the settings' text (logs, tracebacks).
    assert SECRET_ACCESS_KEY not in repr(s3) and SECRET_ACCESS_KEY not in str(s3.model_dump())


def test_s3_without_a_bucket_or_with_a_strange_prefix_is_refused_at_start():
    with pytest.raises(ConfigurationError, match="S3_BUCKET"):
        Settings(STORAGE_BACKEND="s3")
    for prefix in ("../other-site", "a/../b", "a b", "a//b"):
        with pytest.raises(ConfigurationError, match="S3_PREFIX"):
            Settings(STORAGE_BACKEND="s3", S3_BUCKET="b", S3_PREFIX=prefix)


def test_a_missing_bucket_fails_loudly(local_s3):
    """A bucket that does not exist (a typo in S3_BUCKET) is an error, never silently "missing"."""
    storage = s3_storage(local_s3, "no-such-bucket-here")
    with pytest.raises(ClientError) as failed:
        storage.put("x.png", b"x", "image/png")
    assert "NoSuchBucket" in str(failed.value)
    assert not isinstance(failed.value, MissingFile)


def test_local_storage_makes_its_folder(tmp_path: Path):
    storage = LocalStorage(tmp_path / "not" / "yet")
    storage.put("a/b/c.txt", b"deep", "text/plain")
    assert (tmp_path / "not" / "yet" / "a" / "b" / "c.txt").read_bytes() == b"deep"
