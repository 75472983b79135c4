"""Attachments in an S3-compatible bucket (SOPORTE_S3_BUCKET): stored there privately
under their random names, downloaded through the permission-checked API, and carried by
backups. A local S3 server (moto's, on the loopback) stands in for the provider."""

from __future__ import annotations

import io
import json
import socket
import tarfile

import pytest
from django.test import override_settings

from soporte.ops.backup import write_backup
from soporte.tickets import services

boto3 = pytest.importorskip("boto3", reason="S3 support is the [s3] extra")
moto_server = pytest.importorskip("moto.server", reason="the local S3 server is moto[server]")

BUCKET = "soporte-files"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def s3_endpoint():
    port = _free_port()
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def bucket(s3_endpoint, monkeypatch):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "test")
    client = boto3.client(
        "s3", endpoint_url=s3_endpoint, region_name="us-east-1",
        aws_access_key_id="test", aws_secret_access_key="test",
    )  # fmt: skip
    client.create_bucket(Bucket=BUCKET)
    storages = {
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": BUCKET, "endpoint_url": s3_endpoint, "region_name": "us-east-1",
                "access_key": "test", "secret_key": "test", "default_acl": None,
                "file_overwrite": False, "querystring_auth": True,
            },
        },
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }  # fmt: skip
    with override_settings(STORAGES=storages):
        yield client
    for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        client.delete_object(Bucket=BUCKET, Key=item["Key"])
    client.delete_bucket(Bucket=BUCKET)


@pytest.mark.django_db
def test_attachments_live_in_the_bucket_and_come_back_through_the_api(
    bucket, ticket, maria, pedro, api, tmp_path
):
    content = b"%PDF-1.4\n" + bytes(range(256)) * 64
    attachment = services.add_attachment(
        ticket, acting_user=maria, upload=io.BytesIO(content), filename="scan.pdf",
        size=len(content),
    )  # fmt: skip
    keys = [item["Key"] for item in bucket.list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert keys == [attachment.file.name]
    assert "scan" not in attachment.file.name  # the stored name never comes from the user
    stored = bucket.get_object(Bucket=BUCKET, Key=attachment.file.name)["Body"].read()
    assert stored == content
    # Private: the bucket does not hand it out without credentials.
    acl = bucket.get_object_acl(Bucket=BUCKET, Key=attachment.file.name)
    assert not any("AllUsers" in str(grant.get("Grantee")) for grant in acl["Grants"])

    url = f"/tickets/{ticket.number}/attachments/{attachment.pk}"
    response = api(maria).get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == content
    assert api(pedro).get(url).status_code == 404

    summary = write_backup(tmp_path / "site.tar")
    assert summary.files == 1
    with tarfile.open(summary.path) as archive:
        manifest = json.load(archive.extractfile("manifest.json"))
        assert archive.extractfile(f"files/{attachment.file.name}").read() == content
    assert manifest["files"][attachment.file.name]["size"] == len(content)
