from django.contrib import admin

from demixer.separation.models import Separation, Stem


class StemInline(admin.TabularInline):
    model = Stem
    fields = ("name", "master", "preview")
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(Separation)
class SeparationAdmin(admin.ModelAdmin):
    list_display = ("track", "two_stems", "quality", "status", "progress", "attempts", "created")
    list_filter = ("status", "two_stems", "quality")
    search_fields = ("track__title", "track__owner__username")
    readonly_fields = ("heartbeat", "started", "finished", "worker_id", "attempts")
    inlines = (StemInline,)
