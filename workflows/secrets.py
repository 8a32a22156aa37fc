"""Workspace secrets as templates see them, and masking of stored run data."""

from collections.abc import Mapping


class SecretsView(Mapping):
    """`data["secrets"]` in a template context: loads the workspace's secrets on first access
    and remembers every value handed out in `used`, so the engine can mask it."""

    def __init__(self, workspace, used: set[str]):
        self.workspace = workspace
        self.used = used
        self._values: dict[str, str] | None = None

    def _load(self) -> dict[str, str]:
        if self._values is None:
            from .models import Secret

            self._values = dict(
                Secret.objects.filter(workspace=self.workspace).values_list("name", "value")
            )
        return self._values

    def __getitem__(self, name):
        value = self._load()[name]
        if value:
            self.used.add(value)
        return value

    def __iter__(self):
        return iter(self._load())

    def __len__(self):
        return len(self._load())


def mask(value, secret_values):
    """A copy of `value` with every secret value replaced by `***`."""
    if not secret_values:
        return value
    if isinstance(value, str):
        for secret in sorted(secret_values, key=len, reverse=True):
            value = value.replace(secret, "***")
        return value
    if isinstance(value, list):
        return [mask(item, secret_values) for item in value]
    if isinstance(value, dict):
        return {key: mask(item, secret_values) for key, item in value.items()}
    return value
