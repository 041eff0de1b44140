"""The phone app's pages: the one HTML shell of the H5/PWA at /m/, its service worker and its web manifest.

The shell holds no user data (the service worker keeps a copy to open offline): who is signed in comes from
/api/mobile/me, and everything else from the API. The shell carries the app's words, translated here, so the
scripts hold no text of their own."""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.staticfiles import finders
from django.contrib.staticfiles.storage import ManifestFilesMixin, staticfiles_storage
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.utils.translation import get_language, pgettext
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import ensure_csrf_cookie

from gridgov.grids.models import Grid

# The app's scripts: ES modules addressed through the shell's import map, so that each resolves to its hashed
# URL under the manifest storage (a relative import would name the unhashed file).
MODULES = {
    "m/app": "mobile/app.js",
    "m/core": "mobile/core.js",
    "m/db": "mobile/db.js",
    "m/queue": "mobile/queue.js",
    "m/photo": "mobile/photo.js",
    "m/map": "mobile/map.js",
    "m/report": "mobile/report.js",
    "m/cases": "mobile/cases.js",
    "m/worker": "mobile/worker.js",
    "m/fieldwork": "mobile/fieldwork.js",
    "m/community": "mobile/community.js",
    "m/mediation": "mobile/mediation.js",
}
STYLE = "mobile/app.css"
LEAFLET_JS = "vendor/leaflet/leaflet.js"
LEAFLET_CSS = "vendor/leaflet/leaflet.css"
ICONS = {192: "mobile/icon-192.png", 512: "mobile/icon-512.png"}
# Everything the service worker keeps on install, so that the app opens and works without a signal.
PRECACHE = [STYLE, *MODULES.values(), LEAFLET_JS, LEAFLET_CSS, *ICONS.values()]
THEME = "#0f2d52"
# Module pictures of the responsibility list (01–10) drawn in the shell's icon sheet; others get "other".
MODULE_PICTURES = [f"{n:02d}" for n in range(1, 11)]


def _language(request: HttpRequest) -> str:
    return "en" if (get_language() or "").startswith("en") else "zh-hans"


def words() -> dict[str, str]:
    """Words the scripts put on the screen: states of the queue, kinds of records, messages built at run time.
    `%(name)s` marks where the script puts a value."""
    return {
        "waiting": _("Waiting"),
        "sending": _("Sending"),
        "done": _("Sent"),
        "failed": _("Failed"),
        "needs_you": _("Needs you"),
        "kind_report": _("Report"),
        "kind_me_too": _("Me too"),
        "kind_comment": _("Comment"),
        "kind_evaluate": _("Rating"),
        "kind_dispute": _("Dispute of the closure"),
        "kind_verify_pass": _("Verification passed"),
        "kind_verify_fail": _("Verification failed"),
        "kind_self_handle": _("Handled on the spot"),
        "kind_patrol_start": _("Patrol check-in"),
        "kind_patrol_track": _("Patrol track"),
        "kind_patrol_end": _("Patrol check-out"),
        "kind_record": _("Record"),
        "kind_inspection": _("Inspection"),
        "kind_visit": pgettext("a grid worker's visit (走访)", "Visit"),
        "kind_register_person": _("Person registration"),
        "queued_n": _("%(n)s waiting to be sent"),
        "queue_empty": _("Nothing waits to be sent."),
        "case_n": _("Case %(number)s"),
        "received_as": _("Received as case %(number)s."),
        "saved_offline": _("Saved on this phone. It is sent as soon as there is a signal."),
        "sending_now": _("Sending…"),
        "attempts": _("Tried %(n)s times"),
        "sign_in_again": _("Sign in again to send what waits on this phone."),
        "network_error": _("No connection to the server. Try again when there is a signal."),
        "server_error": _("The server could not do this now. It is tried again later."),
        "locating": _("Finding where you are…"),
        "located": _("Location found (± %(m)s m)"),
        "pinned": _("Location set on the map"),
        "no_location": _("The location could not be found. Set it on the map."),
        "location_denied": _("Location is switched off for this app. Set the place on the map."),
        "need_location": _("Where is it? Find the location or set it on the map."),
        "need_description": _("Say in a few words what is wrong."),
        "need_photo": _("Take at least one photo."),
        "need_consent": _("Agree to the privacy notice to send the report."),
        "need_phone": _("Enter a mobile number for updates."),
        "need_reason": _("Give a reason."),
        "need_note": _("Write a note."),
        "need_rating": _("Choose a rating."),
        "distance_m": _("%(m)s m away"),
        "supporters": _("%(n)s people reported it"),
        "joined": _("Added: you are told of its progress."),
        "resend_in": _("Send again in %(s)s s"),
        "code_sent": _("The code was sent by text message."),
        "photos_n": _("%(n)s photos"),
        "points_n": _("%(n)s points"),
        "km": _("%(km)s km"),
        "minutes": _("%(min)s min"),
        "no_cases": _("You have not reported anything yet."),
        "no_tasks": _("No task in your grid now."),
        "load_failed": _("Could not load. Showing what this phone kept."),
        "not_cached": _("Not available offline: open it once with a signal."),
        "task_verify": _("Verify on the spot"),
        "task_self_handle": _("Handle on the spot"),
        "due": _("Due %(at)s"),
        "on_patrol_since": _("On patrol since %(at)s"),
        "delete_confirm": _("Delete this item from the phone? It will not be sent."),
        "too_many_photos": _("At most %(n)s photos."),
        "no_item": _("I don't know"),
        "change": _("Change"),
        "remove_photo": _("Remove this photo"),
        "updates_to": _("News of your report goes to %(phone)s."),
        "rated": _("Rating: %(rating)s"),
        "other_account": _("Another account is signed in in this browser. Sign in again to send what waits."),
        "storage_full": _(
            "This phone's storage is full, so this was not saved. Free some space and try again: "
            "what you entered is still here."
        ),
        "gave_up": _("The server could not take it after %(n)s tries. Retry later, or delete it."),
        "waiting_for": _("Waiting until this is sent: %(what)s"),
        "next_try": _("Next try at %(at)s"),
        # Fieldwork: inspections, visits, registering a person.
        "overdue": _("Overdue"),
        "due_on": _("Due %(date)s"),
        "no_inspections": _("No inspection is due in your grids."),
        "inspections_n": _("%(n)s to inspect, %(late)s overdue"),
        "need_answer": _("Answer this check: pass or fail."),
        "inspected_ok": _("Inspected: everything in order."),
        "fault_case": _("Faults found: case %(number)s was opened."),
        "visit_recorded": _("Visit recorded (%(at)s)."),
        "registered_as": _("Registered: %(name)s, %(document)s."),
        "registered_again": _(
            "Already on the register: %(name)s, %(document)s. The record was brought up to date."
        ),
        "members_n": _("%(n)s people"),
        "no_households": _("No household found."),
        "no_places": _("No place found."),
        "visit_here": _("Here (no household or place)"),
        "id_length": _("An ID number has 18 characters: digits, and X as the last one."),
        # The server's words for the same mistake (registry.validators).
        "id_check_digit": _("The check digit does not match: the ID number has a typing error."),
        "need_name": _("Enter the name."),
        "need_grid": _("Choose one of your grids."),
        "waits_for_sending": _("This inspection is on the phone and waits to be sent."),
        **community_words(),
        **mediation_words(),
    }


def community_words() -> dict[str, str]:
    """The volunteer's screens (community.js)."""
    return {
        "kind_task_accept": _("Accept a task"),
        "kind_task_decline": _("Decline a task"),
        "kind_task_done": _("Task done"),
        "kind_sign_up": _("Sign up for an activity"),
        "kind_cancel_sign_up": _("Cancel a sign-up"),
        "hours_n": _("%(h)s h"),
        "started": _("Started"),
        "signed_up": _("Signed up"),
        "sign_up_cancelled": _("Sign-up cancelled"),
        "full": _("Full"),
        "you_lead": _("You lead this team."),
        "leader_is": _("Leader: %(name)s"),
        "my_hours": _("Your hours in this team: %(h)s"),
        "call_team": _("Call the team: %(phone)s"),
        "no_vtasks": _("No task for your teams now."),
        "no_activities": _("No activity is open for sign-up now."),
        "no_joined": _("You have not signed up for an activity lately."),
        "no_teams": _("You are not on a volunteer team yet: ask your grid worker to add you."),
        "need_result": _("Say what was done."),
        "open_to_grid": _("Open to every team of %(grid)s"),
        "time_range": _("%(start)s to %(end)s"),
        "no_limit": _("%(n)s signed up, no limit on places"),
        "places_left": _("%(n)s of %(capacity)s places left"),
        "signed_up_with": _("You are signed up (%(team)s)"),
        "hours_served": _("%(h)s hours served"),
        "attended": _("Attended"),
        "absent": _("Absent"),
        "attendance_pending": _("Attendance not confirmed yet"),
    }


def mediation_words() -> dict[str, str]:
    """The mediator's screens (mediation.js)."""
    return {
        "kind_session": pgettext("a record the phone sends", "Mediation session"),
        "kind_follow_up": pgettext("a record the phone sends", "Follow-up visit"),
        "yuan": _("%(amount)s yuan"),
        "sessions_n": _("Sessions held: %(n)s"),
        "session_waiting": _("A session waits to be sent"),
        "my_part_lead": _("You lead"),
        "my_part_assistant": _("You assist"),
        "my_part_committee": _("Not assigned"),
        "dispute_n": _("Dispute %(number)s"),
        "follow_up_n": _("Follow-up visit due %(date)s"),
        "no_disputes": _("No open dispute waits for you."),
        "no_follow_ups": _("No follow-up visit is due this week."),
        "session_recorded": _("Session of %(at)s recorded."),
        "follow_up_recorded": _("Follow-up visit recorded: %(result)s."),
        "timeline_offline": _(
            "No signal, and this dispute was not opened with one: its timeline is not on this phone."
        ),
        "not_assigned": _("No mediator is assigned to this dispute yet: sessions are recorded once one is."),
        "present": _("Present: %(names)s"),
        "next_steps": _("Next: %(text)s"),
        "correct_it": _("Correct it"),
        "need_held_at": _("Say when the session was held."),
        "held_in_future": _("The session cannot be held later than now."),
        "held_before_received": _("The session cannot be held before the dispute was received (%(at)s)."),
        "need_mediators": _("Say which mediator held the session: at least one."),
        "need_session_notes": _("Write what was said and agreed."),
        "need_follow_up_result": _("Say whether the agreement was performed."),
    }


def _config(request: HttpRequest) -> dict[str, Any]:
    return {
        "language": _language(request),
        "home": reverse("mobile:shell"),
        "sw": reverse("mobile:sw"),
        "setLanguage": reverse("accounts:set_language"),
        "leaflet": {"js": static(LEAFLET_JS), "css": static(LEAFLET_CSS)},
        "tileUrl": settings.TILE_URL,
        "tileAttribution": settings.TILE_ATTRIBUTION,
        "maxPhotos": settings.EVIDENCE_MAX_FILES,
        "modulePictures": MODULE_PICTURES,
        "bounds": _county_bounds(),
    }


def _county_bounds() -> list[float] | None:
    """Where a map opens before the phone knows where it is: the county (the level-0 grid)."""
    row = (
        Grid.objects.current()
        .filter(
            level=0,
            min_lon__isnull=False,
            min_lat__isnull=False,
            max_lon__isnull=False,
            max_lat__isnull=False,
        )
        .values_list("min_lon", "min_lat", "max_lon", "max_lat")
        .first()
    )
    return [float(v) for v in row if v is not None] if row else None


def _script_json(value: Any) -> str:
    """JSON to put inside a <script> element as it is (an import map cannot be read from elsewhere)."""
    text = json.dumps(value).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return mark_safe(text)  # noqa: S308 -- escaped above: no markup can close the element


@ensure_csrf_cookie
def shell(request: HttpRequest) -> HttpResponse:
    """The app. No sign-in here: the app asks /api/mobile/me and shows its own sign-in."""
    context = {
        "lang": _language(request),
        "words": words(),
        "config": _config(request),
        "importmap": _script_json({"imports": {name: static(path) for name, path in MODULES.items()}}),
        "style": STYLE,
        "icons": ICONS,
        "theme": THEME,
        "module_pictures": MODULE_PICTURES,
    }
    response = render(request, "mobile/shell.html", context)
    # Network first: the service worker keeps its own copy for offline starts.
    response["Cache-Control"] = "no-cache"
    return response


@lru_cache(maxsize=8)
def _version(urls: tuple[str, ...], stamps: tuple[tuple[str, float, int], ...]) -> str:
    """A version that changes whenever a precached file does: hashed URLs say so by themselves (manifest
    storage); plain URLs (the demo, the tests) need the files' contents."""
    digest = hashlib.sha256("\n".join(urls).encode())
    if not isinstance(staticfiles_storage, ManifestFilesMixin):
        for path, _mtime, _size in stamps:
            digest.update(Path(path).read_bytes())
    return digest.hexdigest()[:16]


def _stamps() -> tuple[tuple[str, float, int], ...]:
    if isinstance(staticfiles_storage, ManifestFilesMixin):
        return ()
    out = []
    for name in PRECACHE:
        found = finders.find(name)
        if isinstance(found, str):
            stat = Path(found).stat()
            out.append((found, stat.st_mtime, stat.st_size))
    # The shell's own templates (it and the screens it includes) change what the app looks like too.
    for template in sorted((Path(__file__).parent / "templates" / "mobile").glob("*.html")):
        stat = template.stat()
        out.append((str(template), stat.st_mtime, stat.st_size))
    return tuple(out)


@never_cache
def service_worker(request: HttpRequest) -> HttpResponse:
    """The service worker, with the URLs it keeps (hashed in production) and a version derived from them."""
    urls = [static(name) for name in PRECACHE]
    context = {
        "version": _version(tuple(urls), _stamps()),
        "precache": json.dumps(urls),
        "shell": json.dumps(reverse("mobile:shell")),
        "static_prefix": json.dumps(settings.STATIC_URL),
    }
    response = render(request, "mobile/sw.js", context, content_type="text/javascript; charset=utf-8")
    response["Service-Worker-Allowed"] = reverse("mobile:shell")
    return response


def manifest(request: HttpRequest) -> JsonResponse:
    """The web manifest: installs the app on the home screen, in the language of the request."""
    home = reverse("mobile:shell")
    icons = [
        {"src": static(path), "sizes": f"{size}x{size}", "type": "image/png"} for size, path in ICONS.items()
    ]
    body = {
        "name": _("gridgov"),
        "short_name": _("gridgov"),
        "description": _("Report a problem in your neighbourhood; grid workers' rounds, offline."),
        "lang": "en" if _language(request) == "en" else "zh-CN",
        "start_url": home,
        "scope": home,
        "display": "standalone",
        "orientation": "portrait",
        "background_color": "#ffffff",
        "theme_color": THEME,
        "icons": [*icons, {**icons[-1], "purpose": "maskable"}],
    }
    response = JsonResponse(body, json_dumps_params={"ensure_ascii": False})
    response["Content-Type"] = "application/manifest+json"
    response["Cache-Control"] = "no-cache"
    return response
