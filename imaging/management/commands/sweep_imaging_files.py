from django.core.management.base import BaseCommand

from imaging.storage import sweep_unindexed_files


class Command(BaseCommand):
    help = (
        "Delete stored DICOM files and thumbnails that no index row points to and that are "
        "older than --minutes (what a server stopped between writing a file and indexing it "
        "leaves behind). Run it daily, e.g. from cron."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--minutes",
            type=int,
            default=60,
            help="Leave files younger than this: an upload may still be indexing them.",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="List what would go, delete nothing."
        )

    def handle(self, *args, minutes: int, dry_run: bool, **options):
        swept = sweep_unindexed_files(older_than_minutes=minutes, delete=not dry_run)
        for name in swept:
            self.stdout.write(name)
        verb = "Would delete" if dry_run else "Deleted"
        self.stdout.write(f"{verb} {len(swept)} unindexed file(s).")
