from django.contrib import admin
from django.urls import include, path

from demixer.accounts import views as accounts

urlpatterns = [
    path("", accounts.landing, name="landing"),
    path("accounts/tokens/", include("demixer.api.account_urls")),
    path("accounts/", include("demixer.accounts.urls")),
    path("", include("demixer.tracks.urls")),
    path("", include("demixer.player.urls")),
    path("", include("demixer.separation.urls")),
    path("", include("demixer.exports.urls")),
    path("", include("demixer.sharing.urls")),
    path("api/v1/", include("demixer.api.urls")),
    path("admin/", admin.site.urls),
]
