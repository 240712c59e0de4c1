from django.urls import path, register_converter

from demixer.engine import formats
from demixer.separation import downloads, views
from demixer.separation.render import PREVIEW


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

urlpatterns = [
    path("separations/<uuid:separation_id>/status/", views.status, name="separation-status"),
    path("separations/<uuid:separation_id>/cancel/", views.cancel, name="separation-cancel"),
    path(
        "separations/<uuid:separation_id>/live/<slug:claim>/<int:index>.f32",
        views.stretch,
        name="separation-stretch",
    ),
    path(
        "separations/<uuid:separation_id>/stems/<slug:name>.<fmt:fmt>",
        downloads.stem_download,
        name="stem-download",
    ),
    path(
        f"separations/<uuid:separation_id>/preview/<slug:name>{PREVIEW.extension}",
        views.stem_preview,
        name="stem-preview",
    ),
    path("separations/<uuid:separation_id>/stems.zip", downloads.stems_zip, name="separation-zip"),
    path(
        "separations/<uuid:separation_id>/instrumental.<fmt:fmt>",
        downloads.instrumental,
        name="separation-instrumental",
    ),
    path("separations/<uuid:separation_id>/mix/", downloads.mix, name="separation-mix"),
    path(
        "separations/<uuid:separation_id>/original", downloads.original, name="separation-original"
    ),
    path("downloads/<uuid:render_id>/", downloads.render_status, name="render-status"),
    path("downloads/<uuid:render_id>/file", downloads.render_file, name="render-file"),
]
