"""`gridgov redraw-boundary CODE_A CODE_B NEW_A.geojson`: move the boundary two neighbours share (动态调整)."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import CommandError
from django.utils.translation import gettext as _

from gridgov.grids.importers import read_shapes
from gridgov.grids.services import do_redraw_boundary

from ._adjust import AdjustmentCommand


class Command(AdjustmentCommand):
    help = (
        "Redraw the boundary between two neighbouring grids: the file gives grid A's new boundary (inside "
        "A and B together); B gets the rest. Both keep their codes and get new versions."
    )

    def add_arguments(self, parser):
        parser.add_argument("code_a")
        parser.add_argument("code_b")
        parser.add_argument("boundary", help="GeoJSON file with grid A's new boundary (one geometry)")
        super().add_arguments(parser)

    def adjust(self, options, effective):
        a, b = self.current(options["code_a"]), self.current(options["code_b"])
        shapes = read_shapes(Path(options["boundary"]).read_bytes(), options["crs"])
        if len(shapes) != 1:
            raise CommandError(
                _("The file must hold exactly one boundary; it holds %(n)d.") % {"n": len(shapes)}
            )
        return list(
            do_redraw_boundary(a, b, shapes[0][1], actor=None, effective=effective, reason=options["reason"])
        )
