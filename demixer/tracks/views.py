from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from demixer.separation import services as separations
from demixer.separation.models import Quality, Separation
from demixer.tracks import services
from demixer.tracks.forms import RenameForm, UploadForm
from demixer.tracks.models import Track
from demixer.tracks.uploads import refused_uploads


@login_required
def new_separation(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        form = UploadForm(request.POST, request.FILES, refused=refused_uploads(request))
        if form.is_valid():
            results = [
                services.add_upload(
                    request.user, checked, form.two_stems, form.cleaned_data["quality"]
                )
                for checked in form.checked
            ]
            for job, reused in results:
                if reused:
                    messages.info(
                        request,
                        f"“{job.track.title}” was already separated with these options: "
                        "here is that result.",
                    )
            if len(results) == 1:
                return redirect("separation-detail", results[0][0].id)
            messages.success(request, f"{len(results)} tracks queued for separation.")
            return redirect("library")
    else:
        form = UploadForm()
    limits = {"max_upload_mb": settings.MAX_UPLOAD_MB, "max_minutes": f"{settings.MAX_MINUTES:g}"}
    return render(request, "tracks/new.html", {"form": form, **limits})


@login_required
def library(request: HttpRequest) -> HttpResponse:
    tracks = Track.objects.filter(owner=request.user).prefetch_related(
        Prefetch("separations", queryset=Separation.objects.order_by("-created"))
    )
    rows = [{"track": t, "job": next(iter(t.separations.all()), None)} for t in tracks]
    return render(request, "tracks/library.html", {"rows": rows})


@login_required
def rename(request: HttpRequest, track_id: str) -> HttpResponse:
    track = get_object_or_404(Track, id=track_id, owner=request.user)
    form = RenameForm(request.POST or None, instance=track)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, f"Renamed to “{track.title}”.")
        return redirect("library")
    return render(request, "tracks/rename.html", {"form": form, "track": track})


@login_required
def delete(request: HttpRequest, track_id: str) -> HttpResponse:
    track = get_object_or_404(Track, id=track_id, owner=request.user)
    if request.method == "POST":
        title = track.title
        separations.delete_track(track)
        messages.success(request, f"Deleted “{title}” and its stems.")
        return redirect("library")
    return render(request, "tracks/delete.html", {"track": track})


@login_required
@require_POST
def separate_again(request: HttpRequest, track_id: str) -> HttpResponse:
    """Start a job for a stored track (a retry after failure, or other options)."""
    track = get_object_or_404(Track, id=track_id, owner=request.user)
    two_stems = "vocals" if request.POST.get("mode") == "2" else ""
    quality = Quality.FAST if request.POST.get("quality") == Quality.FAST else Quality.DEFAULT
    job, _ = separations.start(track, two_stems, quality)
    return redirect("separation-detail", job.id)
