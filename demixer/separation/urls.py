from django.urls import path

from demixer.separation import downloads, views

urlpatterns = [
    path("separations/<uuid:separation_id>/", views.detail, name="separation-detail"),
    path("separations/<uuid:separation_id>/status/", views.status, name="separation-status"),
    path("separations/<uuid:separation_id>/cancel/", views.cancel, name="separation-cancel"),
    path(
        "separations/<uuid:separation_id>/stems/<slug:name>.<slug:fmt>",
        downloads.stem_download,
        name="stem-download",
    ),
    path(
        "separations/<uuid:separation_id>/preview/<slug:name>.mp3",
        views.stem_preview,
        name="stem-preview",
    ),
    path("separations/<uuid:separation_id>/stems.zip", downloads.stems_zip, name="separation-zip"),
    path(
        "separations/<uuid:separation_id>/instrumental.<slug:fmt>",
        downloads.instrumental,
        name="separation-instrumental",
    ),
    path("separations/<uuid:separation_id>/mix/", downloads.mix, name="separation-mix"),
    path("downloads/<uuid:render_id>/", downloads.render_status, name="render-status"),
    path("downloads/<uuid:render_id>/file", downloads.render_file, name="render-file"),
]
