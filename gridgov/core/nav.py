"""Links that come from apps the case engine knows nothing of (fieldwork, mediation, community…): each app
registers a function that answers its link, or None when the user's roles do not open it. The navigation
(`cases.context_processors.workbench`) adds them after its own; a case's page shows those for the case (take a
quarrel into mediation…)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest

# (url, label, path prefix of the pages it stands for: "" means the url itself)
Link = tuple[str, Any, str]
LinkProvider = Callable[[HttpRequest], Link | None]

_providers: list[LinkProvider] = []


def provide_link(provider: LinkProvider) -> LinkProvider:
    """Show the link `provider` answers for each request (None: not for this user). Registered in `ready()`."""
    if provider not in _providers:
        _providers.append(provider)
    return provider


def provided_links(request: HttpRequest) -> list[Link]:
    return [link for provider in _providers if (link := provider(request)) is not None]


CaseLinkProvider = Callable[[HttpRequest, Any], Link | None]
_case_providers: list[CaseLinkProvider] = []


def provide_case_link(provider: CaseLinkProvider) -> CaseLinkProvider:
    """Show on a case's page the link `provider` answers for the request and the case (None: not here)."""
    if provider not in _case_providers:
        _case_providers.append(provider)
    return provider


def case_links(request: HttpRequest, case: Any) -> list[Link]:
    return [link for provider in _case_providers if (link := provider(request, case)) is not None]


# A panel on a case's page from an app the engine knows nothing of (the cameras near the case…): rendered HTML.
CasePanelProvider = Callable[[HttpRequest, Any], str | None]
_case_panels: list[CasePanelProvider] = []


def provide_case_panel(provider: CasePanelProvider) -> CasePanelProvider:
    """Show on a case's page the HTML fragment `provider` renders for the request and the case (None: none).
    The fragment is rendered by the app's own template (autoescaped); registered in `ready()`."""
    if provider not in _case_panels:
        _case_panels.append(provider)
    return provider


def case_panels(request: HttpRequest, case: Any) -> list[str]:
    return [html for provider in _case_panels if (html := provider(request, case))]
