"""Loaded by pytest before Django is set up (`-p tests.environment` in pyproject.toml).

The tests run with DEBUG off, as production does, so they need what production needs: a
SECRET_KEY of their own (crm.checks refuses the development key, and worker processes that
tests start run the system checks), and HTTPS=0 because the test client and the live server
speak plain HTTP.
"""

import os

os.environ.setdefault("SECRET_KEY", "tests-only-secret-key-not-for-any-deployment-0123456789")
os.environ.setdefault("HTTPS", "0")
