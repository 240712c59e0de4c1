"""Object storage: uploads and stems in an S3 bucket (``DEMIXER_S3_BUCKET``), nothing on disk.

The storage is django-storages' real S3 backend talking HTTP to moto's S3 server on loopback
(an implementation of the S3 API), through the real upload, worker, download and delete paths.
"""

from __future__ import annotations

import io
import zipfile

import pytest
from django.urls import reverse

from demixer.separation.models import Separation, Status
from tests.web.conftest import body, media_files, run_worker, upload

pytestmark = pytest.mark.django_db(transaction=True)

BUCKET = "demixer-test"


@pytest.fixture
def bucket(settings):
    """A fresh bucket on a local S3 server, made the default storage; yields a boto3 client."""
    import boto3
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    credentials = {"aws_access_key_id": "test", "aws_secret_access_key": "test"}
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", **credentials)
    client.create_bucket(Bucket=BUCKET)
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": BUCKET,
                "endpoint_url": endpoint,
                "region_name": "us-east-1",
                "access_key": "test",
                "secret_key": "test",
                "default_acl": "private",
                "file_overwrite": True,
            },
        },
    }
    try:
        yield client
    finally:
        server.stop()


def keys(client) -> list[str]:
    listing = client.list_objects_v2(Bucket=BUCKET)
    return sorted(item["Key"] for item in listing.get("Contents", []))


@pytest.mark.model
def test_upload_separate_download_delete_on_object_storage(
    alice_client, make_clip, media_dir, bucket
) -> None:
    upload(alice_client, make_clip(3.0, seed=51, kind="flac"))
    job = Separation.objects.get()
    original = job.track.original.name
    assert keys(bucket) == [original]

    run_worker()  # the engine reads a local copy of the object; stems go back to the bucket

    job.refresh_from_db()
    assert job.status == Status.DONE, job.error
    stored = keys(bucket)
    for stem in job.stems.all():
        assert stem.master.name in stored and stem.preview.name in stored
    assert len(stored) == 1 + 2 * 4
    assert media_files(media_dir) == []  # nothing went to the local media folder

    drums = job.stems.get(name="drums")
    whole = bucket.get_object(Bucket=BUCKET, Key=drums.master.name)["Body"].read()
    url = reverse("stem-download", args=[job.id, "drums", "flac"])
    assert body(alice_client.get(url)) == whole
    part = alice_client.get(url, headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and body(part) == whole[100:200]
    etag = part["ETag"]
    assert alice_client.get(url, headers={"If-None-Match": etag}).status_code == 304
    # the zip of the masters streams from the bucket; an MP3 is rendered back into it
    zipped = body(alice_client.get(reverse("separation-zip", args=[job.id])))
    archive = zipfile.ZipFile(io.BytesIO(zipped))
    assert archive.read(next(n for n in archive.namelist() if "(drums)" in n)) == whole
    mp3 = reverse("stem-download", args=[job.id, "drums", "mp3"])
    assert alice_client.get(mp3).status_code == 202
    run_worker()
    assert alice_client.get(mp3).status_code == 200
    assert f"{job.storage_dir()}/cache/drums.mp3" in keys(bucket)

    response = alice_client.post(reverse("track-delete", args=[job.track.id]))
    assert response.status_code == 302
    assert keys(bucket) == []  # the original and every stem went with the track
