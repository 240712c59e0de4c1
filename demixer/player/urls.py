from django.urls import path

from demixer.player import views

urlpatterns = [
    path("separations/<uuid:separation_id>/", views.detail, name="separation-detail"),
    path(
        "separations/<uuid:separation_id>/stems.json",
        views.stems_json,
        name="separation-stems-json",
    ),
]
