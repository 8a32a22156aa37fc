"""The one way dates read on the pages and in the admin (FORMAT_MODULE_PATH in settings), so a
`{{ moment }}` printed without a filter looks like every other: "Mar 3, 2025, 14:05"."""

DATE_FORMAT = "M j, Y"
DATETIME_FORMAT = "M j, Y, H:i"
TIME_FORMAT = "H:i"
SHORT_DATE_FORMAT = "M j, Y"
SHORT_DATETIME_FORMAT = "M j, Y, H:i"
MONTH_DAY_FORMAT = "M j"
