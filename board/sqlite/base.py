"""Django's SQLite backend, with a flush that lifts the write-once triggers while it runs.

A flush (``manage.py flush``, and the reset after every transactional test) empties every
table. PostgreSQL does it with TRUNCATE, which fires no row trigger; SQLite has no TRUNCATE
and runs ``DELETE FROM`` per table, which the triggers of board.write_once would refuse. So
here the flush drops every trigger first and creates each again, from the very SQL SQLite
stored for it, after the tables are empty - all in the flush's one transaction (SQLite rolls
back DDL), so a failed flush leaves the triggers in place. Everything else is Django's.
"""

from __future__ import annotations

from django.db.backends.sqlite3 import base, operations


class DatabaseOperations(operations.DatabaseOperations):
    def sql_flush(self, style, tables, *, reset_sequences=False, allow_cascade=False):
        sql = super().sql_flush(
            style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade
        )
        if not sql:
            return sql
        with self.connection.cursor() as cursor:
            cursor.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' ORDER BY name"
            )
            triggers = cursor.fetchall()
        drop = [f"DROP TRIGGER {self.quote_name(name)};" for name, _ in triggers]
        create = [f"{definition};" for _, definition in triggers]
        return drop + sql + create


class DatabaseWrapper(base.DatabaseWrapper):
    ops_class = DatabaseOperations
