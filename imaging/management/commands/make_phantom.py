import zipfile
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from pydicom.uid import generate_uid

from imaging.phantom import write_phantom


class Command(BaseCommand):
    help = "Write a synthetic CT chest-abdomen-pelvis series (with a paraspinal sarcoma)."

    def add_arguments(self, parser):
        parser.add_argument("out_dir", type=Path, help="Directory for IM0001.dcm, IM0002.dcm…")
        parser.add_argument("--slices", type=int, default=200)
        parser.add_argument("--size", type=int, default=512, help="Rows and columns.")
        parser.add_argument("--seed", type=int, default=7, help="Seed of the image noise.")
        parser.add_argument(
            "--zip", action="store_true", help="Also write OUT_DIR.zip next to the directory."
        )
        parser.add_argument(
            "--shuffle-names",
            action="store_true",
            help="Name files out of spatial order, to catch code that sorts by file name.",
        )

    def handle(self, *args, **options):
        out_dir = options["out_dir"].resolve()
        study_uid, series_uid = generate_uid(prefix=None), generate_uid(prefix=None)
        try:
            paths = write_phantom(
                out_dir,
                shuffle_names=options["shuffle_names"],
                slices=options["slices"],
                size=options["size"],
                seed=options["seed"],
                study_uid=study_uid,
                series_uid=series_uid,
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc

        size = options["size"]
        self.stdout.write(
            self.style.SUCCESS(f"Wrote {len(paths)} CT slices of {size}x{size} to {out_dir}")
        )
        self.stdout.write(f"  study  {study_uid}")
        self.stdout.write(f"  series {series_uid}")
        if options["zip"]:
            archive = out_dir.with_name(f"{out_dir.name}.zip")
            # The fastest deflate already halves the size (12 bits in 16, much air); noise
            # does not compress further. Entries sit at the archive root.
            with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as bundle:
                for path in sorted(paths):
                    bundle.write(path, arcname=path.name)
            self.stdout.write(f"  zip    {archive}")
