from django.urls import path

from demixer.separation import views
from demixer.separation.masters import PREVIEW

urlpatterns = [
    path("separations/<uuid:separation_id>/status/", views.status, name="separation-status"),
    path("separations/<uuid:separation_id>/cancel/", views.cancel, name="separation-cancel"),
    path(
        "separations/<uuid:separation_id>/live/<slug:claim>/<int:index>.f32",
        views.piece,
        name="separation-piece",
    ),
    path(
        f"separations/<uuid:separation_id>/preview/<slug:name>{PREVIEW.extension}",
        views.stem_preview,
        name="stem-preview",
    ),
]
