"""Fixtures of the workflow tests: catching what the app publishes (the events that would
leave this process after commit)."""

import pytest

from workflows.live import events


class PublishedEvents:
    def __init__(self):
        self.items: list[tuple[str, dict]] = []

    def add(self, items):
        self.items.extend(items)

    def of_type(self, kind: str) -> list[tuple[str, dict]]:
        return [(group, event) for group, event in self.items if event.get("type") == kind]


@pytest.fixture
def published_events(monkeypatch):
    recorder = PublishedEvents()
    monkeypatch.setattr(events, "publisher", lambda: recorder)
    return recorder
