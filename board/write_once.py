"""Write-once rows, guarded in the database itself: triggers that refuse UPDATE and DELETE.

The models refuse these changes too (``save``, ``delete``, their querysets), but only for
code that goes through them; the triggers hold for raw SQL, a shell, another program. They
are installed by the migrations of the apps that own the tables (cases 0005, decisions 0004)
through ``write_once_install`` and dropped by the reverse.

A guard is (name, table, condition on OLD, message): a row for which the condition holds
refuses UPDATE and DELETE; with no condition every row does. On PostgreSQL a guard is a
PL/pgSQL function and one BEFORE UPDATE OR DELETE trigger; on SQLite two triggers that
``RAISE(ABORT, ...)``. Both surface as ``django.db.IntegrityError``.

A TRUNCATE (PostgreSQL's flush) fires no row trigger; SQLite's flush is a DELETE per table,
so the SQLite backend in board.sqlite lifts the triggers for the length of a flush.

Past migrations call these functions: change the SQL they write only with a new migration
that reinstalls every guard.
"""

from __future__ import annotations

from typing import NamedTuple


class Guard(NamedTuple):
    name: str
    table: str
    condition: str | None  # SQL on OLD, valid on both databases; None: every row
    message: str


def write_once_install(schema_editor, guards: list[Guard]) -> None:
    vendor = schema_editor.connection.vendor
    for guard in guards:
        if vendor == "postgresql":
            statements = _postgresql_install(guard)
        elif vendor == "sqlite":
            statements = _sqlite_install(guard)
        else:
            raise NotImplementedError(f"no write-once triggers for {vendor}")
        for sql in statements:
            schema_editor.execute(sql, params=None)


def write_once_drop(schema_editor, guards: list[Guard]) -> None:
    vendor = schema_editor.connection.vendor
    for guard in guards:
        if vendor == "postgresql":
            statements = [
                f'DROP TRIGGER IF EXISTS "{guard.name}" ON "{guard.table}"',
                f'DROP FUNCTION IF EXISTS "{guard.name}"()',
            ]
        elif vendor == "sqlite":
            statements = [
                f'DROP TRIGGER IF EXISTS "{guard.name}_update"',
                f'DROP TRIGGER IF EXISTS "{guard.name}_delete"',
            ]
        else:
            raise NotImplementedError(f"no write-once triggers for {vendor}")
        for sql in statements:
            schema_editor.execute(sql, params=None)


def _postgresql_install(guard: Guard) -> list[str]:
    function = f"""
CREATE OR REPLACE FUNCTION "{guard.name}"() RETURNS trigger LANGUAGE plpgsql AS $guard$
BEGIN
    IF {guard.condition or "TRUE"} THEN
        RAISE EXCEPTION USING
            ERRCODE = 'integrity_constraint_violation',
            MESSAGE = '{guard.message}',
            DETAIL = TG_OP || ' on ' || TG_TABLE_NAME || ' refused by {guard.name}';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END
$guard$"""
    trigger = (
        f'CREATE TRIGGER "{guard.name}" BEFORE UPDATE OR DELETE ON "{guard.table}" '
        f'FOR EACH ROW EXECUTE FUNCTION "{guard.name}"()'
    )
    return [function, trigger]


def _sqlite_install(guard: Guard) -> list[str]:
    when = f" WHEN {guard.condition}" if guard.condition else ""
    return [
        f'CREATE TRIGGER "{guard.name}_{event.lower()}" BEFORE {event} ON "{guard.table}" '
        f"FOR EACH ROW{when} BEGIN SELECT RAISE(ABORT, '{guard.message}'); END"
        for event in ("UPDATE", "DELETE")
    ]
