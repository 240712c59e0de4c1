"""The library's search, sort and filters: read from the page's query string (a plain GET form,
so a filtered library is a link that can be bookmarked), applied to the owner's tracks."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q, QuerySet
from django.db.models.functions import Lower
from django.http import QueryDict

from demixer.engine import registry
from demixer.jobs.status import Status
from demixer.separation.models import Separation
from demixer.tracks.models import Track

SORTS = {
    "new": ("Newest first", ("-created",)),
    "old": ("Oldest first", ("created",)),
    "title": ("Title A–Z", (Lower("title"), Lower("artist"), "-created")),
    "short": ("Shortest first", ("duration", "-created")),
    "long": ("Longest first", ("-duration", "-created")),
}
DEFAULT_SORT = "new"


@dataclass(frozen=True)
class LibraryQuery:
    """What the person asked for; unknown values read as "no filter" (an old link still works)."""

    text: str = ""
    sort: str = DEFAULT_SORT
    status: str = ""
    model: str = ""

    @classmethod
    def from_get(cls, params: QueryDict, models: list[str]) -> LibraryQuery:
        sort = params.get("sort", DEFAULT_SORT)
        status = params.get("status", "")
        model = params.get("model", "")
        return cls(
            text=" ".join(params.get("q", "").split())[:200],
            sort=sort if sort in SORTS else DEFAULT_SORT,
            status=status if status in Status.values else "",
            model=model if model in models else "",
        )

    @property
    def filtered(self) -> bool:
        return bool(self.text or self.status or self.model)

    def apply(self, tracks: QuerySet[Track]) -> QuerySet[Track]:
        """The tracks that match, in the chosen order: every word of the search in the title,
        the artist or the file's name; a separation with that status, and of that model."""
        for word in self.text.split():
            tracks = tracks.filter(
                Q(title__icontains=word)
                | Q(artist__icontains=word)
                | Q(original_name__icontains=word)
            )
        jobs = Q()
        if self.status:
            jobs &= Q(status=self.status)
        if self.model:
            jobs &= Q(model_name=self.model)
        if self.status or self.model:
            # one job must match both (a done htdemucs job and a failed Spleeter one do not)
            tracks = tracks.filter(id__in=Separation.objects.filter(jobs).values("track_id"))
        return tracks.order_by(*SORTS[self.sort][1])


def models_used(owner_id: int) -> list[str]:
    """The models the owner's jobs ran, for the model filter: only choices that can match."""
    names = (
        Separation.objects.filter(track__owner_id=owner_id)
        .order_by("model_name")
        .values_list("model_name", flat=True)
        .distinct()
    )
    return list(names)


def model_title(name: str) -> str:
    """A model's name as pages say it; a model since removed from this server keeps its id."""
    spec = registry.MODELS.get(name)
    return spec.title if spec is not None else name
