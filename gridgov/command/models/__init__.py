"""The command centre's tables: cameras and alarm sources (`cameras`), emergencies and hotspots (`incidents`)."""

from .cameras import *  # noqa: F403
from .incidents import *  # noqa: F403
