from django.contrib import admin

from demixer.tracks.models import Track


@admin.register(Track)
class TrackAdmin(admin.ModelAdmin):
    list_display = ("title", "artist", "owner", "duration", "created")
    list_filter = ("created",)
    search_fields = ("title", "artist", "owner__username", "sha256")
    readonly_fields = ("id", "sha256", "size", "duration", "sample_rate", "channels", "codec")
