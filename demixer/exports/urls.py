from django.urls import path, register_converter

from demixer.engine import formats
from demixer.exports import views


class FormatConverter:
    """``<fmt:fmt>``: one of the output formats' names; anything else does not match (404)."""

    regex = "|".join(formats.NAMES)

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        if value not in formats.FORMATS:
            raise ValueError(value)  # reverse() then finds no match
        return value


register_converter(FormatConverter, "fmt")

JOB = "separations/<uuid:separation_id>"  # the separation's downloads start with this

urlpatterns = [
    path(f"{JOB}/stems/<slug:name>.<fmt:fmt>", views.stem_download, name="stem-download"),
    path(f"{JOB}/stems.zip", views.stems_zip, name="separation-zip"),
    path(f"{JOB}/instrumental.<fmt:fmt>", views.instrumental, name="separation-instrumental"),
    path(f"{JOB}/mix/", views.mix, name="separation-mix"),
    path(f"{JOB}/midi/<slug:name>.mid", views.midi, name="stem-midi"),
    path(f"{JOB}/chords.lab", views.chords_lab, name="separation-chords"),
    path(f"{JOB}/chords.json", views.chords_json, name="separation-chords-json"),
    path(f"{JOB}/original", views.original, name="separation-original"),
    path("downloads/<uuid:render_id>/", views.render_status, name="render-status"),
    path("downloads/<uuid:render_id>/file", views.render_file, name="render-file"),
]
