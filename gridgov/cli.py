"""The `gridgov` command. Its own words are management commands of the project (`gridgov seed-demo` runs
`seed_demo`); any other word goes to Django (`gridgov migrate`, `gridgov createsuperuser`)."""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv if argv is None else argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gridgov.settings")
    if len(argv) > 1 and not argv[1].startswith("-"):
        argv[1] = argv[1].replace("-", "_")
    from django.core.management import execute_from_command_line

    execute_from_command_line(argv)


if __name__ == "__main__":
    main()
