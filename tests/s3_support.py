"""S3 for real, without the internet: moto's S3 server on 127.0.0.1 (an HTTP server that speaks the
S3 API) and the real boto3 pointed at it through S3_ENDPOINT_URL. Only the network is replaced,
as with the Stripe fake; every request goes over HTTP, from this process or another."""

from __future__ import annotations

import uuid

import boto3
import pytest
from moto.server import ThreadedMotoServer
from pydantic import SecretStr

from bilten.settings import get_settings

ACCESS_KEY_ID = "bilten-test-key"
SECRET_ACCESS_KEY = "bilten-test-secret"
REGION = "us-east-1"


class LocalS3:
    def __init__(self) -> None:
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self.endpoint_url = ""

    def __enter__(self) -> LocalS3:
        self.server.start()
        host, port = self.server.get_host_and_port()
        self.endpoint_url = f"http://{host}:{port}"
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.stop()

    def client(self):  # noqa: ANN201
        return boto3.session.Session().client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name=REGION,
            aws_access_key_id=ACCESS_KEY_ID,
            aws_secret_access_key=SECRET_ACCESS_KEY,
        )

    def new_bucket(self) -> str:
        name = f"bilten-{uuid.uuid4().hex[:12]}"
        self.client().create_bucket(Bucket=name)
        return name

    def keys(self, bucket: str) -> list[str]:
        listed = self.client().list_objects_v2(Bucket=bucket)
        return sorted(item["Key"] for item in listed.get("Contents", []))

    def env(self, bucket: str, prefix: str = "") -> dict[str, str]:
        """The settings (environment variables) that put a Bilten process on this bucket."""
        return {
            "STORAGE_BACKEND": "s3",
            "S3_BUCKET": bucket,
            "S3_ENDPOINT_URL": self.endpoint_url,
            "S3_REGION": REGION,
            "S3_ACCESS_KEY_ID": ACCESS_KEY_ID,
            "S3_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
            "S3_PREFIX": prefix,
        }


def point_app_at_bucket(monkeypatch: pytest.MonkeyPatch, s3: LocalS3, bucket: str, prefix: str = "") -> None:
    """This process's settings put the app's storage on `bucket` (undone with the monkeypatch)."""
    settings = get_settings()
    values = {
        "storage_backend": "s3",
        "s3_bucket": bucket,
        "s3_endpoint_url": s3.endpoint_url,
        "s3_region": REGION,
        "s3_access_key_id": ACCESS_KEY_ID,
        "s3_secret_access_key": SecretStr(SECRET_ACCESS_KEY),
        "s3_prefix": prefix,
    }
    for name, value in values.items():
        monkeypatch.setattr(settings, name, value)
