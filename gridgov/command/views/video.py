"""The camera registry's pages (list and map, one camera with its player, add and change for operators), the
video wall (2×2 or 3×3 tiles playing HLS with hls.js), and the panel of the cameras near a case on its page."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from gridgov.core.audit import client_ip
from gridgov.core.errors import Refusal
from gridgov.core.scoping import get_visible_or_404, visible_to

from .. import alarms  # noqa: F401  (its scoping rules)
from ..cameras import NEAR_METRES, CameraInput, do_save_camera, keeps, nearest, sees_cameras
from ..models import Camera, CameraKind, CameraStatus

LAYOUTS = (2, 3)
LIST_LIMIT = 500


# ------------------------------------------------------------------------------------------------ forms


class CameraForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=100)
    code = forms.CharField(
        label=gettext_lazy("Code"), max_length=40, help_text=gettext_lazy("Letters, digits, dots, dashes.")
    )
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), choices=CameraKind.choices)
    channel_id = forms.CharField(
        label=gettext_lazy("GB/T 28181 channel ID"),
        required=False,
        max_length=20,
        help_text=gettext_lazy("20 digits: centre code 8, industry 2, type 3 (131 or 132), serial 7."),
    )
    source_url = forms.CharField(
        label=gettext_lazy("Source address"),
        required=False,
        max_length=300,
        help_text=gettext_lazy("rtsp://… for an RTSP camera."),
    )
    hls_url = forms.CharField(
        label=gettext_lazy("HLS URL"),
        max_length=300,
        help_text=gettext_lazy("The .m3u8 address the site's video gateway serves for this camera."),
    )
    lon = forms.FloatField(label=gettext_lazy("Longitude (WGS-84)"))
    lat = forms.FloatField(label=gettext_lazy("Latitude (WGS-84)"))
    status = forms.ChoiceField(label=gettext_lazy("Status"), choices=CameraStatus.choices)
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)


def _form_page(request: HttpRequest, camera: Camera | None) -> HttpResponse:
    if not keeps(request.user, camera.grid if camera is not None else None):
        raise PermissionDenied
    if request.method == "POST":
        form = CameraForm(request.POST)
        if form.is_valid():
            d = form.cleaned_data
            data = CameraInput(
                name=d["name"],
                code=d["code"],
                kind=d["kind"],
                channel_id=d["channel_id"],
                source_url=d["source_url"],
                hls_url=d["hls_url"],
                lon=d["lon"],
                lat=d["lat"],
                status=d["status"],
                expected_version=d.get("version"),
            )
            try:
                saved = do_save_camera(data, actor=request.user, camera=camera, ip=client_ip(request))
            except Refusal as exc:
                form.add_error(exc.field if exc.field in form.fields else None, str(exc.message))
            else:
                messages.success(request, _("Camera %(code)s saved.") % {"code": saved.code})
                return HttpResponseRedirect(reverse("command:camera", args=[saved.code]))
        status = 422
    else:
        initial: dict[str, Any] = {"kind": CameraKind.HLS, "status": CameraStatus.ONLINE}
        if camera is not None:
            initial = {f: getattr(camera, f) for f in CameraForm.base_fields if hasattr(camera, f)}
        form = CameraForm(initial=initial)
        status = 200
    return render(request, "command/camera_form.html", {"form": form, "camera": camera}, status=status)


# ------------------------------------------------------------------------------------------------ pages


def _player_text() -> dict[str, str]:
    """The words the players' script writes (it holds none of its own)."""
    return {"nosignal": _("No signal"), "loading": _("Connecting…"), "none": _("No camera")}


@login_required
def camera_list(request: HttpRequest) -> HttpResponse:
    rows = visible_to(request.user, Camera).select_related("grid").order_by("code")
    status = request.GET.get("status", "")
    if status in CameraStatus.values:
        rows = rows.filter(status=status)
    query = request.GET.get("q", "").strip()[:40]
    if query:
        rows = rows.filter(name__icontains=query) | rows.filter(code__icontains=query)
    cameras = list(rows[:LIST_LIMIT])
    points = [
        {"code": c.code, "name": c.name, "lon": c.lon, "lat": c.lat, "status": c.status} for c in cameras
    ]
    context = {
        "cameras": cameras,
        "status": status,
        "statuses": CameraStatus.choices,
        "query": query,
        "may_add": keeps(request.user),
        "map": {
            "points": points,
            "url": reverse("command:camera", args=["CODE"]),
            "tileUrl": settings.TILE_URL,
        },
    }
    return render(request, "command/camera_list.html", context)


@login_required
def camera_page(request: HttpRequest, code: str) -> HttpResponse:
    camera = get_visible_or_404(request.user, Camera.objects.select_related("grid"), code=code)
    context = {
        "camera": camera,
        "may_edit": keeps(request.user, camera.grid),
        "config": {"text": _player_text()},
    }
    return render(request, "command/camera.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def camera_new(request: HttpRequest) -> HttpResponse:
    return _form_page(request, None)


@login_required
@require_http_methods(["GET", "POST"])
def camera_edit(request: HttpRequest, code: str) -> HttpResponse:
    camera = get_visible_or_404(request.user, Camera.objects.select_related("grid"), code=code)
    return _form_page(request, camera)


@login_required
def video_wall(request: HttpRequest) -> HttpResponse:
    """Tiles of live streams. The cameras are chosen in the tiles; the choice is kept in the address."""
    try:
        layout = int(request.GET.get("layout", "2"))
    except ValueError:
        layout = 2
    layout = layout if layout in LAYOUTS else 2
    cameras = list(
        visible_to(request.user, Camera).order_by("code").values("code", "name", "hls_url", "status")
    )
    by_code = {c["code"]: c for c in cameras}
    chosen = [c for c in request.GET.getlist("c") if c in by_code][: layout * layout]
    if not chosen:
        online = [c["code"] for c in cameras if c["status"] == CameraStatus.ONLINE]
        chosen = online[: layout * layout]
    tiles = [by_code[chosen[i]] if i < len(chosen) else None for i in range(layout * layout)]
    context = {
        "layout": layout,
        "layouts": LAYOUTS,
        "tiles": tiles,
        "cameras": cameras,
        "config": {
            "streams": {c["code"]: c["hls_url"] for c in cameras},
            "text": _player_text(),
        },
    }
    return render(request, "command/video_wall.html", context)


# ------------------------------------------------------------------------------------------------ hooks


def camera_panel(request: HttpRequest, case: Any) -> str | None:
    """The cameras near a case, nearest first, on its page (for those who see cameras)."""
    if case.lon is None or case.lat is None or not sees_cameras(request.user):
        return None
    found = nearest(request.user, case.lon, case.lat)
    context = {"near": found, "radius": NEAR_METRES, "wall": reverse("command:video_wall")}
    return render_to_string("command/camera_panel.html", context, request=request)


def register() -> None:
    """Called from CommandConfig.ready()."""
    from gridgov.core.nav import provide_case_panel

    provide_case_panel(camera_panel)


urlpatterns: list[URLPattern] = [
    path("video/", video_wall, name="video_wall"),
    path("cameras/", camera_list, name="cameras"),
    path("cameras/new/", camera_new, name="camera_new"),
    path("cameras/<str:code>/", camera_page, name="camera"),
    path("cameras/<str:code>/edit/", camera_edit, name="camera_edit"),
]
