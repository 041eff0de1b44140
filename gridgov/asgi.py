"""The ASGI entry point (uvicorn): `/sse/` is the live feed of the command centre (gridgov/command/sse.py),
served as a plain ASGI app so that a stream costs a task, not a thread; everything else is Django (pages and
API are served by gunicorn in production, but work here too)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gridgov.settings")
django_application = get_asgi_application()

from gridgov.command import sse  # noqa: E402 - after Django is set up


async def application(scope, receive, send):
    if scope["type"] == "lifespan" or (scope["type"] == "http" and scope["path"].startswith("/sse/")):
        await sse.app(scope, receive, send)
    else:
        await django_application(scope, receive, send)
