from django.urls import path

from demixer.exports.urls import FormatConverter  # noqa: F401  (registers <fmt:...>)
from demixer.separation.masters import PREVIEW
from demixer.sharing import owner, views

urlpatterns = [
    # the owner's
    path("separations/<uuid:separation_id>/shares/", owner.create, name="share-create"),
    path(
        "separations/<uuid:separation_id>/shares/<int:share_id>/revoke/",
        owner.revoke,
        name="share-revoke",
    ),
    # a visitor's: everything under the link's token
    path("s/<slug:token>/", views.page, name="share-page"),
    path(
        f"s/<slug:token>/preview/<slug:name>{PREVIEW.extension}",
        views.preview,
        name="share-preview",
    ),
    path("s/<slug:token>/stems/<slug:name>.<fmt:fmt>", views.stem_download, name="share-stem"),
    path("s/<slug:token>/stems.zip", views.stems_zip, name="share-zip"),
    path("s/<slug:token>/instrumental.<fmt:fmt>", views.instrumental, name="share-instrumental"),
    path("s/<slug:token>/mix/", views.mix, name="share-mix"),
    path(
        "s/<slug:token>/downloads/<uuid:render_id>/",
        views.render_status,
        name="share-render-status",
    ),
    path(
        "s/<slug:token>/downloads/<uuid:render_id>/file",
        views.render_file,
        name="share-render-file",
    ),
]
