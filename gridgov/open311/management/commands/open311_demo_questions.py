from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from gridgov.open311.demo import add_demo_questions


class Command(BaseCommand):
    help = "Give a few items of the demo county questions of every Open311 datatype (after seed-demo)."

    def handle(self, *args, **options):
        self.stdout.write(_("%(count)d questions added.") % {"count": add_demo_questions()})
