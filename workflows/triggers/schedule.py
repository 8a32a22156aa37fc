"""Schedule triggers: `cron` or `every`, in a time zone."""

import zoneinfo

from croniter import croniter

from . import EVERY_UNITS


def schedule_problems(settings: dict) -> list[str]:
    problems = []
    cron, every = settings.get("cron"), settings.get("every")
    if bool(cron) == bool(every):
        return ["Give either cron (five fields) or every {amount, unit}."]
    if cron:
        if not isinstance(cron, str) or len(cron.split()) != 5 or not croniter.is_valid(cron):
            problems.append(f"cron {cron!r} is not a valid five-field expression.")
    else:
        if not isinstance(every, dict):
            problems.append("every must be {amount, unit}.")
        else:
            amount = every.get("amount")
            if not isinstance(amount, int) or isinstance(amount, bool) or amount < 1:
                problems.append("every.amount must be a whole number, 1 or more.")
            if every.get("unit") not in EVERY_UNITS:
                problems.append(f"every.unit must be one of {', '.join(EVERY_UNITS)}.")
    tz = settings.get("timezone", "UTC")
    try:
        zoneinfo.ZoneInfo(tz)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError):
        problems.append(f"Unknown time zone {tz!r}.")
    return problems
