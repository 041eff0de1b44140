"""`gridgov split-grid CODE PIECES.geojson`: one grid becomes several (动态调整)."""

from __future__ import annotations

from pathlib import Path

from gridgov.grids.importers import read_shapes
from gridgov.grids.services import do_split_grid

from ._adjust import AdjustmentCommand


class Command(AdjustmentCommand):
    help = (
        "Split a current grid into the pieces of a GeoJSON file (one feature per piece, its name in the "
        "property `name`); the pieces must tile the grid."
    )

    def add_arguments(self, parser):
        parser.add_argument("code")
        parser.add_argument("pieces", help="GeoJSON file of the pieces")
        super().add_arguments(parser)

    def adjust(self, options, effective):
        grid = self.current(options["code"])
        pieces = read_shapes(Path(options["pieces"]).read_bytes(), options["crs"])
        return do_split_grid(grid, pieces, actor=None, effective=effective, reason=options["reason"])
