"""The GeoReport v2 endpoints (plain Django views: XML and JSON by suffix, errors as the spec shapes them) and the
workbench's page of API keys and webhooks.

Compatibility (standards.md §A.6): both formats everywhere, unknown suffix 404; `/service/{code}` beside
`/services/{code}`; an empty `jurisdiction_id` is no jurisdiction; `api_key` and `jurisdiction_id` from the
query string or the body; form-urlencoded (with or without a charset, or none) and multipart with `media` /
`media[]` files; `attribute[CODE]` and `attribute[CODE][]`; 200 on a successful POST; ids and codes as strings."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.db.models import Max
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, QueryDict
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from gridgov.accounts.choices import AdminDuty, Role
from gridgov.accounts.scoping import held_roles
from gridgov.cases.choices import EvidencePhase
from gridgov.cases.models import Evidence
from gridgov.core import audit
from gridgov.core.audit import client_ip
from gridgov.core.errors import Refusal
from gridgov.core.models import AuditRecord
from gridgov.core.scoping import visible_to

from . import selectors, services
from .formats import FORMATS, JSON, MIME, XML, errors, parse_datetime
from .formats import render as render_doc
from .models import ApiKey, Delivery, Subscriber

SPEC = "http://wiki.open311.org/GeoReport_v2"
MAX_PAGE = selectors.MAX_REQUESTS


class Problem(Exception):
    """An answer in the spec's error shape: HTTP status, then (code, description) pairs."""

    def __init__(
        self, status: int, description: Any, code: int | None = None, headers: dict[str, str] | None = None
    ):
        super().__init__(str(description))
        self.status = status
        self.code = code or status
        self.description = str(description)
        self.headers = headers or {}


def endpoint(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Checks the format suffix and the jurisdiction, and answers a `Problem` in the format asked."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, fmt: str, **kwargs: Any) -> HttpResponse:
        if fmt not in FORMATS:
            return errors(XML, 404, (404, _("Unknown format %(format)s: use xml or json.") % {"format": fmt}))
        try:
            check_jurisdiction(param(request, "jurisdiction_id"))
            return view(request, *args, fmt=fmt, **kwargs)
        except Problem as p:
            return errors(fmt, p.status, (p.code, p.description), headers=p.headers)

    return wrapper


def jurisdictions() -> list[str]:
    return list(getattr(settings, "OPEN311_JURISDICTIONS", ["150621"]))


def check_jurisdiction(given: str) -> None:
    """One jurisdiction: any or none is accepted. Several: 400 when missing, 404 when unknown."""
    known = jurisdictions()
    if len(known) <= 1:
        return
    if not given:
        raise Problem(400, _("jurisdiction_id is required: one of %(ids)s.") % {"ids": ", ".join(known)})
    if given not in known:
        raise Problem(404, _("Jurisdiction %(id)s not found.") % {"id": given})


def _body(request: HttpRequest) -> QueryDict:
    if request.method != "POST":
        return QueryDict()
    if request.POST or request.content_type == "multipart/form-data":
        return request.POST
    # A client that sent no content type (or text/plain): the body read as a form, as UTF-8.
    try:
        return QueryDict(request.body, encoding="utf-8")
    except Exception:
        return QueryDict()


def param(request: HttpRequest, name: str) -> str:
    """An argument from the body (POST) or the query string; empty is absent."""
    value = _body(request).get(name) or request.GET.get(name) or ""
    return value.strip()


def _comma_list(request: HttpRequest, name: str) -> list[str] | None:
    raw = param(request, name)
    values = [v.strip() for v in raw.split(",") if v.strip()]
    return values or None


def _datetime_arg(request: HttpRequest, name: str) -> datetime | None:
    raw = param(request, name)
    if not raw:
        return None
    at = parse_datetime(raw)
    if at is None:
        raise Problem(
            400, _("%(name)s is not a W3C datetime (e.g. 2026-05-01T09:30:00+08:00).") % {"name": name}
        )
    return at


def _int_arg(request: HttpRequest, name: str, default: int, low: int, high: int) -> int:
    raw = param(request, name)
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise Problem(400, _("%(name)s is a whole number.") % {"name": name}) from None
    if not low <= value <= high:
        raise Problem(
            400, _("%(name)s lies between %(low)d and %(high)d.") % {"name": name, "low": low, "high": high}
        )
    return value


def _key(request: HttpRequest, required: bool) -> ApiKey | None:
    """The client's API key, its use counted (403 when missing or wrong; 429 past its rate)."""
    key = param(request, "api_key")
    if not key and not required:
        return None
    try:
        return services.use_key(key)
    except services.KeyRefused:
        if request.method == "POST":
            with transaction.atomic():
                audit.record(
                    "open311.key_refused",
                    success=False,
                    data={"path": request.path, "prefix": key[:12]},
                    ip=client_ip(request),
                )
        raise Problem(403, _("api_key is missing or not valid: ask the county for a key.")) from None
    except services.RateLimited as limited:
        raise Problem(
            429,
            _("Too many requests with this api_key: try again in %(seconds)d seconds.")
            % {"seconds": limited.retry_after},
            headers={"Retry-After": str(limited.retry_after)},
        ) from None


def _base_url(request: HttpRequest) -> str:
    return request.build_absolute_uri(reverse("open311:root"))


# ------------------------------------------------------------------------------------------------ discovery


def _changeset() -> datetime:
    """When the service list last changed: the latest audited change of the responsibility list."""
    labels = ["catalog.item", "catalog.itemquestion", "catalog.module", "catalog.department"]
    # By the (object_type, object_id) index: a few hundred rows, whatever the size of the log.
    last = AuditRecord.objects.filter(object_type__in=labels).aggregate(at=Max("created_at"))["at"]
    return last or datetime(2026, 1, 1, tzinfo=UTC)


@require_http_methods(["GET", "HEAD"])
def discovery(request: HttpRequest, fmt: str) -> HttpResponse:
    if fmt not in FORMATS:
        return errors(XML, 404, (404, _("Unknown format %(format)s: use xml or json.") % {"format": fmt}))
    changed = selectors.w3c(_changeset())
    document = {
        "changeset": changed,
        "contact": getattr(settings, "OPEN311_CONTACT", "")
        or _("Command centre of the county (网格化服务管理中心)"),
        "key_service": getattr(settings, "OPEN311_KEY_SERVICE", "")
        or _("Ask the county's command centre for an API key: an operator makes one in the workbench."),
        "endpoints": [
            {
                "specification": SPEC,
                "url": request.build_absolute_uri(reverse("open311:root")).rstrip("/"),
                "changeset": changed,
                "type": "production",
                "formats": [MIME[XML], MIME[JSON]],
            }
        ],
    }
    # ASCII-only XML: the `three` client reads discovery.xml as text and str()s it under Python 2.
    return render_doc(fmt, "discovery", document, ascii_xml=True)


# ------------------------------------------------------------------------------------------------ services


@require_http_methods(["GET", "HEAD"])
@endpoint
def service_list(request: HttpRequest, fmt: str) -> HttpResponse:
    _key(request, required=False)
    return render_doc(fmt, "services", selectors.services())


@require_http_methods(["GET", "HEAD"])
@endpoint
def service_definition(request: HttpRequest, code: str, fmt: str) -> HttpResponse:
    _key(request, required=False)
    item = selectors.active_item(code)
    if item is None:
        raise Problem(404, _("No service has the code %(code)s.") % {"code": code})
    return render_doc(fmt, "service_definition", selectors.definition(item))


# ------------------------------------------------------------------------------------------------ requests


@csrf_exempt
@require_http_methods(["GET", "HEAD", "POST"])
@endpoint
def requests(request: HttpRequest, fmt: str) -> HttpResponse:
    if request.method == "POST":
        return _post_request(request, fmt)
    _key(request, required=False)
    ids = _comma_list(request, "service_request_id")
    statuses = _comma_list(request, "status")
    if statuses and any(s not in ("open", "closed") for s in statuses):
        raise Problem(400, _("status is open, closed or both (open,closed)."))
    query = selectors.RequestQuery(
        ids=ids,
        service_codes=_comma_list(request, "service_code"),
        start=_datetime_arg(request, "start_date"),
        end=_datetime_arg(request, "end_date"),
        statuses=statuses,
        updated_after=_datetime_arg(request, "updated_after"),
        updated_before=_datetime_arg(request, "updated_before"),
        page=_int_arg(request, "page", 1, 1, 1_000_000),
        page_size=_int_arg(request, "page_size", MAX_PAGE, 1, MAX_PAGE),
        extensions=param(request, "extensions").lower() == "true",
    )
    if ids is None and query.start and query.end:
        if query.end < query.start:
            raise Problem(400, _("end_date is before start_date."))
        if query.end - query.start > selectors.WINDOW:
            raise Problem(400, _("start_date and end_date are at most 90 days apart."))
    return render_doc(fmt, "service_requests", selectors.find_requests(query, base_url=_base_url(request)))


def _attributes(form: QueryDict) -> dict[str, list[str]]:
    """`attribute[CODE]=v` and `attribute[CODE][]=v1&attribute[CODE][]=v2`, by code."""
    out: dict[str, list[str]] = {}
    for name in form:
        if name.startswith("attribute[") and "]" in name:
            code = name[len("attribute[") : name.index("]")]
            out.setdefault(code, []).extend(form.getlist(name))
    return out


def _post_request(request: HttpRequest, fmt: str) -> HttpResponse:
    api_key = _key(request, required=True)
    assert api_key is not None
    form = _body(request)
    code = param(request, "service_code")
    if not code:
        raise Problem(400, _("service_code is required."))
    item = selectors.active_item(code)
    if item is None:
        raise Problem(404, _("No service has the code %(code)s.") % {"code": code})
    files = [*request.FILES.getlist("media"), *request.FILES.getlist("media[]")]
    submission = services.Submission(
        service_code=code,
        lat=param(request, "lat"),
        long=param(request, "long"),
        address_string=param(request, "address_string"),
        address_id=param(request, "address_id"),
        description=form.get("description", "") or request.GET.get("description", ""),
        email=param(request, "email"),
        phone=param(request, "phone"),
        first_name=param(request, "first_name"),
        last_name=param(request, "last_name"),
        device_id=param(request, "device_id"),
        account_id=param(request, "account_id"),
        media_url=param(request, "media_url"),
        jurisdiction_id=param(request, "jurisdiction_id"),
        attributes={**_attributes(request.GET), **_attributes(form)},
        files=files,
    )
    try:
        record = services.do_submit(submission, api_key=api_key, ip=client_ip(request))
    except Refusal as refusal:
        # The description names the field the client sent (an attribute's message names its code already).
        message, name = str(refusal.message), refusal.field
        if name and not name.startswith("attribute[") and name not in message:
            message = f"{name}: {message}"
        raise Problem(400, message) from None
    document = [
        {
            "service_request_id": record.case.number,
            "service_notice": selectors.notice(item),
            "account_id": record.account_id or None,
        }
    ]
    return render_doc(fmt, "service_requests", document)


@require_http_methods(["GET", "HEAD"])
@endpoint
def one_request(request: HttpRequest, number: str, fmt: str) -> HttpResponse:
    _key(request, required=False)
    found = selectors.one_request(number, base_url=_base_url(request))
    if not found:
        raise Problem(404, _("No request has the id %(id)s.") % {"id": number})
    return render_doc(fmt, "service_requests", found)


@require_http_methods(["GET", "HEAD"])
@endpoint
def token(request: HttpRequest, token: str, fmt: str) -> HttpResponse:
    _key(request, required=False)
    found = selectors.token_request(token)
    if found is None:
        raise Problem(404, _("No request has the token %(token)s.") % {"token": token})
    return render_doc(fmt, "service_requests", [found])


@require_http_methods(["GET", "HEAD"])
@endpoint
def request_updates(request: HttpRequest, fmt: str) -> HttpResponse:
    _key(request, required=False)
    start, end = _datetime_arg(request, "start_date"), _datetime_arg(request, "end_date")
    if start and end and end < start:
        raise Problem(400, _("end_date is before start_date."))
    if start and end and end - start > selectors.WINDOW:
        raise Problem(400, _("start_date and end_date are at most 90 days apart."))
    found = selectors.updates(start=start, end=end, numbers=_comma_list(request, "service_request_id"))
    return render_doc(fmt, "service_request_updates", found)


@require_http_methods(["GET", "HEAD"])
def media(request: HttpRequest, pk: int) -> HttpResponseBase:
    """The public copy (metadata stripped) of a photo reported with a case, unless the case is private."""
    evidence = (
        Evidence.objects.filter(pk=pk, phase=EvidencePhase.REPORT, case__item__isnull=False)
        .exclude(case__item__module__code__in=selectors.private_modules())
        .first()
    )
    if evidence is None or not evidence.public:
        raise Http404
    return FileResponse(evidence.public.open("rb"), content_type=evidence.content_type)


def root(request: HttpRequest) -> HttpResponse:
    """The endpoint's base URL: where discovery is."""
    return redirect("open311:discovery", fmt="xml")


# ------------------------------------------------------------------------------------------------ workbench


def may_manage(user: Any) -> bool:
    """Operators of the command centre and the system administrator manage keys and webhooks."""
    if not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser or user.admin_duty == AdminDuty.SYSTEM:
        return True
    return any(h.role == Role.OPERATOR for h in held_roles(user))


def nav_link(request: HttpRequest) -> tuple[str, Any, str] | None:
    # The link for the system administrator only: operators' bar is full, and they reach the keys from the
    # guide (docs/guides/open311.md) at /open311/keys/.
    user: Any = request.user
    if not user.is_authenticated or not (user.is_superuser or user.admin_duty == AdminDuty.SYSTEM):
        return None
    return (reverse("open311:keys"), gettext_lazy("Open311"), "")


@login_required
@require_http_methods(["GET", "POST"])
def keys(request: HttpRequest) -> HttpResponse:
    if not may_manage(request.user):
        raise Http404
    new_key = new_secret = None
    problem = ""
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            if action == "create_key":
                try:
                    rate = int(request.POST.get("rate_per_minute") or 60)
                except ValueError:
                    rate = 0
                made = services.do_create_key(
                    request.POST.get("name", ""),
                    actor=request.user,
                    rate_per_minute=rate,
                    ip=client_ip(request),
                )
                new_key = made.key
            elif action == "revoke_key":
                api_key = get_object_or_404(visible_to(request.user, ApiKey), pk=request.POST.get("key"))
                services.do_revoke_key(api_key, actor=request.user, ip=client_ip(request))
                return redirect("open311:keys")
            elif action == "create_webhook":
                made_sub = services.do_create_subscriber(
                    request.POST.get("name", ""),
                    request.POST.get("url", ""),
                    request.POST.getlist("events"),
                    actor=request.user,
                    ip=client_ip(request),
                )
                new_secret = made_sub.secret
            elif action in ("pause_webhook", "resume_webhook"):
                sub = get_object_or_404(
                    visible_to(request.user, Subscriber), pk=request.POST.get("subscriber")
                )
                services.do_set_subscriber_active(
                    sub, action == "resume_webhook", actor=request.user, ip=client_ip(request)
                )
                return redirect("open311:keys")
            else:
                problem = _("Unknown action.")
        except Refusal as refusal:
            problem = f"{refusal.field}: {refusal.message}" if refusal.field else str(refusal.message)
    context = {
        "api_keys": list(visible_to(request.user, ApiKey).select_related("created_by")[:200]),
        "subscribers": list(visible_to(request.user, Subscriber)[:100]),
        "topics": services.topics(),
        "new_key": new_key,
        "new_secret": new_secret,
        "problem": problem,
        "discovery_url": request.build_absolute_uri(reverse("open311:discovery", kwargs={"fmt": "json"})),
    }
    return render(request, "open311/keys.html", context, status=400 if problem else 200)


@login_required
@require_http_methods(["GET"])
def deliveries(request: HttpRequest, pk: int) -> HttpResponse:
    if not may_manage(request.user):
        raise Http404
    subscriber = get_object_or_404(visible_to(request.user, Subscriber), pk=pk)
    rows = list(Delivery.objects.filter(subscriber=subscriber).order_by("-id")[:200])
    return render(request, "open311/deliveries.html", {"subscriber": subscriber, "rows": rows})
