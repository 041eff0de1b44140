"""The command centre's API (/api/command/): the wall's data, cameras and alarms, emergencies and hotspots."""

from ninja import Router

from . import incidents, video, wall

router = Router(tags=["command"])
router.add_router("", wall.router)
router.add_router("", video.router)
router.add_router("", incidents.router)
