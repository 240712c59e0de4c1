from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from demixer.engine import registry
from demixer.http import AuthedRequest
from demixer.ops import disk
from demixer.separation import modes, quotas
from demixer.separation import services as separations
from demixer.separation.models import Quality, Separation, Status
from demixer.separation.quotas import QuotaExceeded
from demixer.separation.services import ModelUnavailable
from demixer.tracks import library as library_query
from demixer.tracks import services
from demixer.tracks.forms import QUALITY_CHOICES, RenameForm, UploadForm
from demixer.tracks.models import Track
from demixer.tracks.uploads import refused_uploads, storage_full


@login_required
def new_separation(request: AuthedRequest) -> HttpResponse:
    """The upload form. A plain post is answered with a redirect, or the page with its errors;
    the page's script (which sends the form itself, to show upload progress) asks for JSON and
    gets where to go, ``{"redirect": url}``, or the lines to show, ``{"errors": [line, ...]}``
    (200 too: the form was read and answered, as the page with its errors is; a 4xx would put
    a failed request in the browser's console)."""
    scripted = request.get_preferred_type(["text/html", "application/json"]) == "application/json"
    if request.method == "POST":
        form = UploadForm(request.POST, request.FILES, refused=refused_uploads(request))
        try:
            results = _add(request, form)
        except (QuotaExceeded, ModelUnavailable) as exc:
            form.add_error(None, str(exc))  # nothing of this upload was stored
        except disk.StorageFull as exc:
            # the server's trouble, not the form's: 507 (the page's script shows the line too)
            return _upload_page(request, UploadForm(), [str(exc)], scripted, status=507)
        else:
            if results is not None:
                answer = _uploaded(request, results, form.refusals)
                return JsonResponse({"redirect": answer.url}) if scripted else answer
        return _upload_page(request, form, _error_lines(form), scripted)
    return _upload_page(request, UploadForm(), [], scripted=False)


def _upload_page(
    request: HttpRequest, form: UploadForm, errors: list[str], scripted: bool, status: int = 200
) -> HttpResponse:
    """The form with its errors, or for the page's script the lines to show."""
    if scripted:
        return JsonResponse({"errors": errors}, status=status)
    limits = {"max_upload_mb": settings.MAX_UPLOAD_MB, "max_minutes": f"{settings.MAX_MINUTES:g}"}
    context = {"form": form, "errors": errors, **limits}
    return render(request, "tracks/new.html", context, status=status)


def _add(request: AuthedRequest, form: UploadForm) -> list[tuple[Separation, bool]] | None:
    """The upload's jobs, or None when the form has errors; raises ``StorageFull`` when the
    files were dropped for want of disk space, or there is no room for their jobs."""
    if storage_full(request):
        raise disk.StorageFull()
    if not form.is_valid():
        return None
    return services.add_uploads(
        request.user, form.checked, form.two_stems, form.cleaned_data["quality"], form.model
    )


def _error_lines(form: UploadForm) -> list[str]:
    """The form's errors as the page lists them: the form's own, then each field's, named by
    its label (the files' messages name their file), then files refused while others were
    accepted (when something else stopped the upload, they need another look too)."""
    lines = [str(error) for error in form.non_field_errors()]
    for field in form:
        prefix = "" if field.name == "files" else f"{field.label}: "
        lines += [f"{prefix}{error}" for error in field.errors]
    if "files" not in form.errors:
        lines += [f"Not added: {line}" for line in form.refusals]
    return lines


def _uploaded(
    request: HttpRequest, results: list[tuple[Separation, bool]], refusals: list[str]
) -> HttpResponseRedirect:
    """Where an accepted upload leads: its job's page, or the library for several; the files
    refused meanwhile are named there, each with its reason."""
    for line in refusals:
        messages.error(request, f"Not added: {line}")
    for job, reused in results:
        if reused:
            messages.info(request, reused_note(job))
    if len(results) == 1:
        return redirect("separation-detail", results[0][0].id)
    if queued := sum(1 for _, reused in results if not reused):
        messages.success(request, f"{queued} track{pluralize(queued)} queued for separation.")
    return redirect("library")


def reused_note(job: Separation) -> str:
    """Why the page shown is an earlier job: said as it stands, since "already separated"
    about a job still waiting in the queue would be untrue."""
    title = job.track.display_title
    if job.status == Status.QUEUED:
        return f"“{title}” is already queued with these options: here is that job."
    if job.status == Status.RUNNING:
        return f"“{title}” is already being separated with these options: here is that job."
    return f"“{title}” was already separated with these options: here is that result."


@login_required
def library(request: AuthedRequest) -> HttpResponse:
    """Every track with every separation of it (each result stays reachable), newest first
    unless the person sorts, searches or filters otherwise; the options to separate it again
    without uploading it again; and how much of each limit is used."""
    owned = Track.objects.filter(owner=request.user)
    models_used = library_query.models_used(request.user.pk)
    query = library_query.LibraryQuery.from_get(request.GET, models_used)
    tracks = query.apply(owned).prefetch_related(
        Prefetch("separations", queryset=Separation.objects.order_by("-created"))
    )
    fast_unavailable = UploadForm().fast_unavailable  # the upload form's verdict, as offered
    qualities = [
        (v, label) for v, label in QUALITY_CHOICES if v != Quality.FAST or not fast_unavailable
    ]
    offered = [mode for mode in modes.all_modes() if mode.installed]
    rows = []
    for track in tracks:
        jobs = list(track.separations.all())
        mode, quality = _not_yet_made(jobs, offered, [value for value, _ in qualities])
        rows.append(
            {
                "track": track,
                "jobs": jobs,
                "mode": mode,
                "quality": quality,
                "compare_url": _compare_url(jobs),
            }
        )
    return render(
        request,
        "tracks/library.html",
        {
            "rows": rows,
            "modes": [(mode.value, mode.label, " ".join(mode.qualities)) for mode in offered],
            "qualities": qualities,
            "query": query,
            "total": owned.count(),
            "sorts": [(value, label) for value, (label, _) in library_query.SORTS.items()],
            "statuses": Status.choices,
            "models": [(name, library_query.model_title(name)) for name in models_used],
            "usage": quotas.usage(request.user.pk),
        },
    )


def _compare_url(jobs: list[Separation]) -> str | None:
    """Where "compare" leads once a track has two finished separations: the newest one's page,
    with the one before it as B (its page offers every other finished one)."""
    done = [job for job in jobs if job.status == Status.DONE]  # newest first
    if len(done) < 2:
        return None
    return f"{reverse('separation-detail', args=[done[0].id])}?compare={done[1].id}"


def _not_yet_made(
    jobs: list[Separation], offered: list[modes.Mode], qualities: list[str]
) -> tuple[str, str]:
    """The first stems choice and quality without a result (or a job on its way), other stems
    before another quality: what "separate again" offers first, since asking for options that
    have one only leads back to it."""
    made = {
        (j.model_name, j.two_stems, j.quality)
        for j in jobs
        if j.status == Status.DONE or j.is_active
    }
    # the default model's stems choices in each quality first, then the other models'
    first = [(m, q) for q in qualities for m in offered if m.model == modes.DEFAULT.model]
    others = [(m, q) for m in offered if m.model != modes.DEFAULT.model for q in qualities]
    for mode, quality in first + others:
        if quality in mode.qualities and (mode.model, mode.two_stems, quality) not in made:
            return mode.value, quality
    return modes.DEFAULT.value, Quality.DEFAULT


@login_required
def rename(request: HttpRequest, track_id: str) -> HttpResponse:
    track = get_object_or_404(Track, id=track_id, owner=request.user)
    form = RenameForm(request.POST or None, instance=track)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, f"Renamed to “{track.display_title}”.")
        return redirect("library")
    return render(request, "tracks/rename.html", {"form": form, "track": track})


@login_required
def delete(request: HttpRequest, track_id: str) -> HttpResponse:
    track = get_object_or_404(Track, id=track_id, owner=request.user)
    if request.method == "POST":
        title = track.display_title
        separations.delete_track(track)
        messages.success(request, f"Deleted “{title}” and its stems.")
        return redirect("library")
    return render(request, "tracks/delete.html", {"track": track})


@login_required
@require_POST
def separate_again(request: HttpRequest, track_id: str) -> HttpResponse:
    """Start a job for a stored track (a retry after failure, or other options); options that
    already have a result, or a job on its way, lead to that one."""
    track = get_object_or_404(Track, id=track_id, owner=request.user)
    mode = modes.by_value(request.POST.get("mode"))
    quality = Quality.FAST if request.POST.get("quality") == Quality.FAST else Quality.DEFAULT
    asked = quality
    if quality not in mode.qualities:
        # one quality (Spleeter): the library's script offers only that, a page without it
        # (or an older one) asked for another; it runs in its own and the page says so below
        quality = Quality.DEFAULT
    try:
        job, reused = separations.start(track, mode.two_stems, quality, mode.model)
    except (QuotaExceeded, ModelUnavailable, disk.StorageFull) as exc:
        messages.error(request, str(exc))
        return redirect(_back(request))
    if asked != quality:
        title = registry.get_spec(mode.model).title
        messages.info(request, f"{title} has one quality: separated at Best, not Fast.")
    if reused:
        messages.info(request, reused_note(job))
    return redirect("separation-detail", job.id)


def _back(request: HttpRequest) -> str:
    """The page a form was sent from (the job page or the library), if it is one of ours."""
    referer = request.headers.get("referer", "")
    if url_has_allowed_host_and_scheme(
        referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return referer
    return reverse("library")
