from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _


@login_required
def grid_map(request: HttpRequest) -> HttpResponse:
    """The grid map: the page is a shell; `static/grids/map.js` reads the tree from the grid API."""
    initial = request.GET.get("grid", "")
    config = {
        "api": reverse("api:grid_start").removesuffix("start"),
        "initial": int(initial) if initial.isdigit() else None,
        "tileUrl": settings.TILE_URL,
        "tileAttribution": settings.TILE_ATTRIBUTION,
        "locale": "en" if (getattr(request, "LANGUAGE_CODE", "") or "").startswith("en") else "zh-CN",
        # Words the script puts on the page, translated here so the script holds no text of its own.
        "text": {
            "subgrids": {
                "0": _("Level-1 grids"),
                "1": _("Level-2 grids"),
                "2": _("Level-3 grids"),
                "3": _("Sub-grids"),
            },
            "nobody": _("No one is assigned to this grid in your view."),
            "noScope": _("No grid is in your scope yet. Ask the security administrator for a role."),
            "loadFailed": _("The map data could not be loaded. Check the connection and try again."),
            "noHits": _("No grid matches."),
            "notFound": _("That grid does not exist or is outside your scope: showing your grids."),
            "km2": _("km²"),
            "upTo": _("Back to %(name)s"),
            "population": _("Population"),
            "special": _("special-purpose grid"),
        },
    }
    return render(request, "grids/map.html", {"config": config})


def manage(request: HttpRequest) -> HttpResponse:  # scaffolding: replaced while building issue 4
    return HttpResponse("pending")
