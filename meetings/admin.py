from django.contrib import admin

from meetings.models import AgendaItem, Attendance, LiveSession, Meeting


class AgendaItemInline(admin.TabularInline):
    model = AgendaItem
    extra = 0
    raw_id_fields = ("case", "presenter")


@admin.register(Meeting)
class MeetingAdmin(admin.ModelAdmin):
    list_display = ("title", "board", "starts_at", "time_zone", "status", "ical_sequence")
    list_filter = ("status", "board")
    list_select_related = ("board",)
    # Cancelling and holding go through the app (cancellation invites, the live session).
    readonly_fields = ("uuid", "status", "ical_sequence", "created_at")
    raw_id_fields = ("created_by",)
    inlines = [AgendaItemInline]


@admin.register(AgendaItem)
class AgendaItemAdmin(admin.ModelAdmin):
    list_display = ("meeting", "position", "case", "time_box_minutes", "presenter")
    list_select_related = ("meeting", "case", "presenter")
    raw_id_fields = ("meeting", "case", "presenter")


@admin.register(Attendance)
class AttendanceAdmin(admin.ModelAdmin):
    list_display = ("meeting", "user", "joined_at", "left_at")
    list_select_related = ("meeting", "user")
    raw_id_fields = ("meeting", "user")
    # Presence counts for the quorum: written by the live session only.
    readonly_fields = ("joined_at", "left_at", "seen_at")


@admin.register(LiveSession)
class LiveSessionAdmin(admin.ModelAdmin):
    """The live state is the app's to write; the admin only shows it."""

    list_display = ("meeting", "presenter", "epoch", "seq", "updated_at")
    readonly_fields = ("meeting", "current_item", "presenter", "epoch", "seq", "viewer_state")

    def has_add_permission(self, request):
        return False
