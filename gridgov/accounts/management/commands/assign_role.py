from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from gridgov.accounts.models import User
from gridgov.accounts.services import do_assign_role


class Command(BaseCommand):
    help = "Give a user a role over a grid (by code) and/or a department (by code)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("role")
        parser.add_argument("--grid", dest="grid_code")
        parser.add_argument("--department", dest="department_code")

    def handle(self, *args, username, role, grid_code, department_code, **options):
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(_("No user is called %(name)s.") % {"name": username})
        try:
            a = do_assign_role(user, role, actor=None, grid_code=grid_code, department_code=department_code)
        except ValidationError as exc:
            raise CommandError("; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())) from exc
        self.stdout.write(str(a))
