"""`gridgov train-triage`: retrain triage (研判) on the closed cases and say how well it does."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from gridgov.cases.triage import TriageModelError, retrain


class Command(BaseCommand):
    help = (
        "Retrain triage on the descriptions of the closed cases (corrections by operators count more), print "
        "its accuracy on a held-out fifth, and replace the model file that suggestions are read from."
    )

    def handle(self, *args, **options):
        started = time.perf_counter()
        try:
            evaluation = retrain(stdout=self.stdout)
        except TriageModelError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(
            _("Held-out accuracy: %(accuracy).1f %% (top 3: %(top3).1f %%) on %(test)d descriptions.")
            % {
                "accuracy": evaluation.accuracy * 100,
                "top3": evaluation.top3_accuracy * 100,
                "test": evaluation.n_test,
            }
        )
        self.stdout.write(
            _(
                "Trained on %(train)d descriptions of %(items)d items in %(seconds).1f s; %(total).1f s in all."
            )
            % {
                "train": evaluation.n_train,
                "items": evaluation.n_items,
                "seconds": evaluation.seconds,
                "total": time.perf_counter() - started,
            }
        )
