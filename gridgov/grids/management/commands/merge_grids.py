"""`gridgov merge-grids CODE CODE [CODE…] --name NAME`: neighbouring grids become one (动态调整)."""

from __future__ import annotations

from gridgov.grids.services import do_merge_grids

from ._adjust import AdjustmentCommand


class Command(AdjustmentCommand):
    help = "Merge neighbouring current grids of one parent into one grid with a new code."

    def add_arguments(self, parser):
        parser.add_argument("codes", nargs="+")
        parser.add_argument("--name", required=True, help="name of the merged grid")
        super().add_arguments(parser)

    def adjust(self, options, effective):
        grids = [self.current(code) for code in options["codes"]]
        merged = do_merge_grids(
            grids, name=options["name"], actor=None, effective=effective, reason=options["reason"]
        )
        return [merged]
