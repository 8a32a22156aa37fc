"""The events table of the embedded default (see events.py): rows live two minutes."""

from django.db import models


class LiveEvent(models.Model):
    group = models.CharField(max_length=100)
    event = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        app_label = "workflows"

    def __str__(self) -> str:
        return f"{self.group} {self.event.get('type')}"
