"""`gridgov import-persons FILE [--as USERNAME]`: a persons file too large for a web request (the whole county).

`import-registry persons FILE`, kept under its own name: all rows or none, as on the import page; the command
exits non-zero when the file was refused."""

from __future__ import annotations

from .import_registry import Command as RegistryCommand


class Command(RegistryCommand):
    help = (
        "Import persons from an .xlsx or .csv file in the template's columns. Every row is checked first; "
        "nothing is written while one cell is wrong."
    )
    kind = "persons"
