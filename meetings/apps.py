from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MeetingsConfig(AppConfig):
    name = "meetings"
    verbose_name = _("Meetings")

    def ready(self) -> None:
        from meetings.live import meeting_groups_of_case
        from realtime.publish import register_case_audience

        # A live session shows its case's opinions, annotations and votes as they change.
        register_case_audience(meeting_groups_of_case)
