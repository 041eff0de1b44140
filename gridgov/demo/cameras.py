"""The demo county's cameras and alarm sources: a few cameras in every town and sub-district (the town hall's
gate, the main crossroads, the market, a school, the bus station…), deterministic for a seed, with HLS
addresses on the site's video gateway (`video.example.local`, which does not exist: the wall shows "no signal"
until a real gateway is configured), and two alarm sources — a video-analytics platform and an IoT platform —
whose alarm types map to items of the responsibility list.

`seed_cameras(config)` goes through the command centre's services, so each camera and source has its audit
record. Call it after the grids and the catalogue exist (the seed's last step is fine)."""

from __future__ import annotations

import random
from dataclasses import dataclass

from django.utils.translation import gettext as _

from gridgov.command.alarms import do_create_alarm_source
from gridgov.command.cameras import CameraInput, do_save_camera
from gridgov.command.models import AlarmSource, Camera, CameraKind, CameraStatus
from gridgov.grids.locator import get_locator
from gridgov.grids.models import Grid

from .config import DemoConfig

GATEWAY = "http://video.example.local/live"
SPOTS = (
    "政府门口",
    "主街十字路口",
    "农贸市场",
    "中心学校门口",
    "汽车站",
    "卫生院门口",
    "文化广场",
    "加油站路口",
)
PER_TOWN = 4
VIDEO_TYPES = {
    "illegal_parking": "092001",  # 机动车乱停放
    "street_vending": "012011",  # 占道经营
    "exposed_garbage": "012001",  # 暴露垃圾
    "smoke_fire": "022002",  # 火灾隐患
    "burning": "012013",  # 焚烧垃圾、树叶
}
IOT_TYPES = {
    "water_level": "022009",  # 防汛险情
    "smoke": "022002",  # 火灾隐患
    "manhole_cover": "031001",  # 雨水井盖
}


@dataclass
class CamerasReport:
    cameras: int
    sources: int

    def summary(self) -> str:
        return _("Command centre: %(cameras)d cameras, %(sources)d alarm sources.") % {
            "cameras": self.cameras,
            "sources": self.sources,
        }


def _point(grid: Grid, rng: random.Random) -> tuple[float, float] | None:
    locator = get_locator()
    for _attempt in range(20):
        lon = rng.uniform(grid.min_lon, grid.max_lon)  # type: ignore[arg-type]
        lat = rng.uniform(grid.min_lat, grid.max_lat)  # type: ignore[arg-type]
        if locator.locate(lon, lat).grid_id is not None:
            return lon, lat
    return None


def seed_cameras(config: DemoConfig) -> CamerasReport:
    """Cameras in every town (`PER_TOWN` each, in its busiest level-3 grids) and the two alarm sources."""
    rng = random.Random(config.seed * 7 + 28181)
    county = config.seed % 100  # only to vary the serial numbers between seeds
    made = 0
    towns = list(Grid.objects.current().filter(level=1).order_by("code"))
    for t, town in enumerate(towns):
        leaves = list(
            Grid.objects.current()
            .filter(level=3, path__startswith=town.path, min_lon__isnull=False)
            .order_by("-population", "code")[: PER_TOWN * 3]
        )
        rng.shuffle(leaves)
        for n, grid in enumerate(leaves[:PER_TOWN]):
            point = _point(grid, rng)
            if point is None:
                continue
            code = f"CAM-{town.code[-3:]}-{n + 1:02d}"
            serial = (t + 1) * 1000 + n + 1 + county * 100_000
            kind: str = (CameraKind.GB28181, CameraKind.GB28181, CameraKind.RTSP, CameraKind.HLS)[n % 4]
            channel = f"{town.code[:6]}00" + "00" + ("132" if n % 2 else "131") + f"{serial:07d}"
            do_save_camera(
                CameraInput(
                    name=f"{town.name}{SPOTS[(t + n) % len(SPOTS)]}",
                    code=code,
                    kind=kind,
                    channel_id=channel if kind == CameraKind.GB28181 else "",
                    source_url=f"rtsp://10.21.{t % 250}.{n + 11}:554/Streaming/Channels/101"
                    if kind == CameraKind.RTSP
                    else "",
                    hls_url=f"{GATEWAY}/{code}.m3u8",
                    lon=round(point[0], 6),
                    lat=round(point[1], 6),
                    status=CameraStatus.OFFLINE if rng.random() < 0.08 else CameraStatus.ONLINE,
                ),
                actor=None,
            )
            made += 1
    sources = 0
    # Alarms that name neither a camera nor a point are placed at a point of the county (the banner's town).
    root = Grid.objects.current().filter(level=0).first()
    default = _point(root, rng) if root is not None and root.min_lon is not None else None
    lon, lat = default if default is not None else (None, None)
    for code, name, kind, types in (
        ("ai-video", "视频智能分析平台", "video", VIDEO_TYPES),
        ("iot", "城市物联网感知平台", "iot", IOT_TYPES),
    ):
        if not AlarmSource.objects.filter(code=code).exists():
            do_create_alarm_source(
                actor=None, code=code, name=name, kind=kind, mapping=types, default_lon=lon, default_lat=lat
            )
            sources += 1
    return CamerasReport(cameras=Camera.objects.count(), sources=sources)
