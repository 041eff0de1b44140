"""Forgetting what is kept only for a while (kept idempotent answers, sign-in codes…): each app registers its
job, and `gridgov sweep`'s loop runs them all, so one process does the county's housekeeping."""

from __future__ import annotations

from collections.abc import Callable

_jobs: list[Callable[[], int]] = []


def register(job: Callable[[], int]) -> Callable[[], int]:
    """Run `job` (answering how many rows it removed) on every pass of the sweep."""
    if job not in _jobs:
        _jobs.append(job)
    return job


def run() -> int:
    return sum(job() for job in _jobs)
