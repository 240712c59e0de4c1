from django.urls import path

from demixer.player import views

urlpatterns = [
    path("separations/<uuid:separation_id>/", views.detail, name="separation-detail"),
]
