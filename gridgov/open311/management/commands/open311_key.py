from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from gridgov.core.errors import Refusal
from gridgov.open311.services import do_create_key


class Command(BaseCommand):
    help = "Make an Open311 API key for a client application and print it (it is shown only this once)."

    def add_arguments(self, parser):
        parser.add_argument("name", help="the client application's name")
        parser.add_argument("--rate", type=int, default=60, help="requests per minute (default 60)")

    def handle(self, *args, name: str, rate: int, **options):
        try:
            made = do_create_key(name, actor=None, rate_per_minute=rate)
        except Refusal as refusal:
            raise CommandError(str(refusal.message)) from None
        self.stderr.write(
            _("API key of %(name)s (shown only now; keep it secret):") % {"name": made.api_key.name}
        )
        self.stdout.write(made.key)
