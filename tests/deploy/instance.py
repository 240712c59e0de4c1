"""Run in a child process against one instance (its DEMIXER_DATA_DIR / DATABASE_URL):
``seed`` fills it with a user, a track and a finished separation's stems; ``contents`` prints,
as JSON, every user, track and stem with the SHA-256 of each of their files, read back from the
database rows and the storage."""

from __future__ import annotations

import hashlib
import json
import os
import sys

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "demixer.config.settings")

import django

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.files.base import ContentFile  # noqa: E402
from django.core.files.storage import default_storage  # noqa: E402
from django.utils import timezone  # noqa: E402

from demixer.separation.models import Separation, Status, Stem  # noqa: E402
from demixer.tracks.models import Track  # noqa: E402


def seed() -> None:
    user = get_user_model().objects.create_user("alice", "alice@example.org", "a long passphrase")
    original = b"RIFF original audio bytes" * 100
    track = Track(
        owner=user,
        title="Backed up",
        original_name="song.wav",
        sha256=hashlib.sha256(original).hexdigest(),
        size=len(original),
        duration=6.0,
        sample_rate=44100,
        channels=2,
    )
    track.original.save("song.wav", ContentFile(original), save=False)
    track.save()
    job = Separation.objects.create(track=track, status=Status.DONE, finished=timezone.now())
    for position, name in enumerate(("vocals", "drums", "bass", "other")):
        stem = Stem(separation=job, name=name, position=position, peaks=[0.5, 1.0])
        master = default_storage.save(
            f"stems/{job.id}/{name}.flac", ContentFile(name.encode() * 999)
        )
        preview = default_storage.save(
            f"stems/{job.id}/{name}.mp3", ContentFile(name.encode() * 99)
        )
        stem.master.name, stem.preview.name = master, preview
        stem.save()


def digest(name: str) -> str:
    with default_storage.open(name) as fh:
        return hashlib.sha256(fh.read()).hexdigest()


def contents() -> dict:
    return {
        "users": sorted(get_user_model().objects.values_list("username", "email", "password")),
        "tracks": [
            [str(t.id), t.owner.username, t.title, t.original.name, digest(t.original.name)]
            for t in Track.objects.order_by("id")
        ],
        "stems": [
            [
                str(s.separation_id),
                s.separation.status,
                s.name,
                s.master.name,
                digest(s.master.name),
                digest(s.preview.name),
                s.peaks,
            ]
            for s in Stem.objects.order_by("separation_id", "position")
        ],
    }


if __name__ == "__main__":
    if sys.argv[1] == "seed":
        seed()
    print(json.dumps(contents()))
