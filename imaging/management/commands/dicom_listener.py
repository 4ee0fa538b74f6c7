import contextlib

from django.conf import settings
from django.core.management.base import BaseCommand

from imaging.dimse import listen


class Command(BaseCommand):
    help = (
        "Receive studies from a PACS: a DICOM listener (C-ECHO, C-STORE) on DICOM_HOST:"
        "DICOM_PORT (127.0.0.1:11112 unless set). Run one per site, beside the web servers."
    )

    def add_arguments(self, parser):
        parser.add_argument("--host", default=None, help="Address to bind (DICOM_HOST).")
        parser.add_argument("--port", type=int, default=None, help="Port (DICOM_PORT).")

    def handle(self, *args, host: str | None, port: int | None, **options):
        host = host or settings.DICOM_HOST
        port = settings.DICOM_PORT if port is None else port
        self.stdout.write(f"DICOM listener on {host}:{port} (Ctrl-C stops it)", ending="\n")
        self.stdout.flush()
        with contextlib.suppress(KeyboardInterrupt):
            listen(host=host, port=port, block=True)
