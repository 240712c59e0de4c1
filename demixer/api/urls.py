from django.urls import path

from demixer.api import views

urlpatterns = [
    path("separations/", views.separations, name="api-separations"),
    path("separations/<uuid:separation_id>/", views.separation, name="api-separation"),
    path("separations/<uuid:separation_id>/cancel/", views.cancel, name="api-separation-cancel"),
]
