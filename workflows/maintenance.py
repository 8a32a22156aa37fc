"""Housekeeping the minute sweep does: rows that only matter for a while are deleted after it."""

from datetime import timedelta

from django.utils import timezone

from .models import WebhookDelivery

# Senders retry a delivery for at most 3 days (Stripe, GitHub's redelivery; Shopify 48 h): a
# week of delivery ids still answers every retry with its first run.
WEBHOOK_DELIVERY_KEEP_DAYS = 7
# Bounded so one sweep never holds a long delete: a backlog clears over a few minutes.
BATCH = 5000


def prune_webhook_deliveries(now=None) -> int:
    """Deletes delivery ids older than the keep window; returns how many."""
    cutoff = (now or timezone.now()) - timedelta(days=WEBHOOK_DELIVERY_KEEP_DAYS)
    old = list(
        WebhookDelivery.objects.filter(created_at__lt=cutoff).values_list("pk", flat=True)[:BATCH]
    )
    if not old:
        return 0
    deleted, _ = WebhookDelivery.objects.filter(pk__in=old).delete()
    return deleted
