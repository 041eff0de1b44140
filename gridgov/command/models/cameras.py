"""Cameras, their streams, and the sources of video-analytics and IoT alarms."""

__all__: list[str] = []
