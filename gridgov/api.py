"""The JSON API (django-ninja, OpenAPI at /api/docs). Each app contributes a router.

Session authentication: ninja enforces CSRF on unsafe methods for cookie-authenticated calls."""

from ninja import NinjaAPI
from ninja.security import django_auth

from gridgov.grids.api import router as grids_router

api = NinjaAPI(title="gridgov API", version="1", auth=django_auth, urls_namespace="api")
api.add_router("/grids/", grids_router)
