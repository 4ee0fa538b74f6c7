import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_migrations_are_committed():
    # Exits with SystemExit(1) if a model change has no migration.
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)
