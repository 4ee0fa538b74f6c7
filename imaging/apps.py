from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ImagingConfig(AppConfig):
    name = "imaging"
    verbose_name = _("Imaging")

    def ready(self) -> None:
        from pydicom import config

        # Uploaded files are full of odd values; pydicom would warn and log each one, with
        # the value in the message, and a value can be a patient's name. We check what we
        # use ourselves and say so per file.
        config.settings.reading_validation_mode = config.IGNORE
