"""The grid map's API on the demo county: how long the map waits for each level, and how big the answers are."""

from __future__ import annotations

import statistics
import time

from _setup import demo_database

demo_database()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from gridgov.accounts.models import User  # noqa: E402
from gridgov.grids.models import Grid  # noqa: E402

client = Client(HTTP_HOST="127.0.0.1")
client.force_login(User.objects.get(username="leader"))
root = Grid.objects.current().get(level=0)
town = Grid.objects.current().filter(level=1).order_by("-area_m2").first()
village = Grid.objects.current().filter(parent=town).order_by("code").first()
leaf = Grid.objects.current().filter(parent=village).order_by("code").first()
assert town and village and leaf


def measure(name: str, url: str, runs: int = 20) -> float:
    client.get(url)  # warm the caches a real server would have warm
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(url)
        times.append(time.perf_counter() - started)
        assert response.status_code == 200, (url, response.status_code)
    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    p50 = statistics.median(times) * 1000
    print(f"{name}_p50: {p50:.1f} ms")
    print(f"{name}_bytes: {len(response.content)} B")
    print(f"{name}_queries: {len(queries)} queries")
    return p50


worst = max(
    measure("county_children", f"/api/grids/{root.pk}/children.geojson?zoom=8"),
    measure("town_children", f"/api/grids/{town.pk}/children.geojson?zoom=10"),
    measure("village_children", f"/api/grids/{village.pk}/children.geojson?zoom=13"),
    measure("grid_detail", f"/api/grids/{leaf.pk}"),
    measure("search", "/api/grids/search?q=%E6%9D%91"),
)
print(f"map_api_worst_p50: {worst:.1f} ms")
