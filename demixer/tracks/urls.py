from django.urls import path

from demixer.tracks import views

urlpatterns = [
    path("library/", views.library, name="library"),
    path("separations/new/", views.new_separation, name="separation-new"),
    path("tracks/<uuid:track_id>/rename/", views.rename, name="track-rename"),
    path("tracks/<uuid:track_id>/delete/", views.delete, name="track-delete"),
    path("tracks/<uuid:track_id>/separate/", views.separate_again, name="track-separate"),
]
