"""crm.settings with bench/daphne_app.py's URLconf: the product's settings and ASGI entry
point (`daphne crm.asgi:application`), plus the bare baseline views under /bench/."""

from crm.settings import *  # noqa: F403

ROOT_URLCONF = "bench.daphne_app"
