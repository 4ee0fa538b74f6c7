from django.core.management.base import BaseCommand

from cases.markdown import stored_markdown_rerender


class Command(BaseCommand):
    help = (
        "Render the stored HTML of every opinion, revision and proposal again from its "
        "Markdown. Pages show the HTML stored when the text was written; run this after an "
        "upgrade that changes the Markdown or sanitizer rules (cases/markdown.py)."
    )

    def handle(self, *args, **options):
        updated = stored_markdown_rerender()
        self.stdout.write(f"{updated} stored renderings updated.")
