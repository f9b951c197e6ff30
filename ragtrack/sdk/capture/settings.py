"""Which parts of its environment a run records, and how much."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass

from ragtrack.exceptions import InvalidArgumentError

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})

# One variable per field, so a cluster admin can switch capture off without code changes.
ENV_VARS: dict[str, str] = {
    "git": "RAGTRACK_CAPTURE_GIT",
    "environment": "RAGTRACK_CAPTURE_ENVIRONMENT",
    "packages": "RAGTRACK_CAPTURE_PACKAGES",
    "hardware": "RAGTRACK_CAPTURE_HARDWARE",
    "console": "RAGTRACK_CAPTURE_CONSOLE",
    "system_metrics": "RAGTRACK_CAPTURE_SYSTEM_METRICS",
    "system_metrics_interval": "RAGTRACK_SYSTEM_METRICS_INTERVAL",
    "console_limit_bytes": "RAGTRACK_CONSOLE_LIMIT_BYTES",
    "git_diff_limit_bytes": "RAGTRACK_GIT_DIFF_LIMIT_BYTES",
}

_SWITCHES = ("git", "environment", "packages", "hardware", "console", "system_metrics")


@dataclass(frozen=True)
class CaptureSettings:
    """What ``ragtrack.init`` records about the run's environment.

    ``packages`` refines ``environment``: installed packages are listed only when
    both are on. The limits bound what one run can store: the git diff and the
    captured console output are cut beyond them, with a marker saying so.

    Example:
        >>> CaptureSettings.resolve({"console": False}).console
        False
        >>> CaptureSettings.resolve(False).git
        False
    """

    git: bool = True
    environment: bool = True
    packages: bool = True
    hardware: bool = True
    console: bool = True
    system_metrics: bool = True
    system_metrics_interval: float = 10.0
    console_limit_bytes: int = 10 * 2**20
    git_diff_limit_bytes: int = 5 * 2**20

    def __post_init__(self) -> None:
        for name in _SWITCHES:
            value = getattr(self, name)
            if not isinstance(value, bool):
                raise _wrong_type(name, value, "a bool")
        interval = self.system_metrics_interval
        # bool is an int subclass; True seconds is a typo, not an interval.
        if isinstance(interval, bool) or not isinstance(interval, (int, float)):
            raise _wrong_type("system_metrics_interval", interval, "a number of seconds")
        if not interval > 0 or interval == float("inf"):
            raise InvalidArgumentError(
                f"capture setting 'system_metrics_interval' must be a positive number of "
                f"seconds, got {interval!r}",
                field="system_metrics_interval",
            )
        object.__setattr__(self, "system_metrics_interval", float(interval))
        for name in ("console_limit_bytes", "git_diff_limit_bytes"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise _wrong_type(name, value, "a non-negative int")

    @classmethod
    def resolve(
        cls, value: CaptureSettings | Mapping[str, object] | bool | None
    ) -> CaptureSettings:
        """Turn what the user passed as ``capture=`` into settings.

        ``None`` and ``True`` mean the defaults, overridden by the
        ``RAGTRACK_CAPTURE_*`` environment variables (see ``ENV_VARS``);
        ``False`` switches every part off; a mapping replaces the named fields of
        those environment-aware defaults, so explicit code wins over the
        environment, which wins over the built-in defaults.

        Raises:
            InvalidArgumentError: for an unknown field, a value of the wrong type
                or an unparsable environment variable.

        Example:
            >>> CaptureSettings.resolve({"system_metrics_interval": 2}).system_metrics_interval
            2.0
        """
        if isinstance(value, CaptureSettings):
            return value
        if value is False:
            return cls(**{name: False for name in _SWITCHES})
        if value is None or value is True:
            return cls._from_env()
        if isinstance(value, Mapping):
            valid = [f.name for f in dataclasses.fields(cls)]
            for key in value:
                if key not in valid:
                    raise InvalidArgumentError(
                        f"unknown capture setting {key!r}; valid settings are: {', '.join(valid)}",
                        field=str(key),
                    )
            return dataclasses.replace(cls._from_env(), **value)  # type: ignore[arg-type]
        raise InvalidArgumentError(
            f"capture must be a bool, a mapping of settings or CaptureSettings, "
            f"got {type(value).__name__}",
            field="capture",
        )

    @classmethod
    def _from_env(cls) -> CaptureSettings:
        overrides: dict[str, object] = {}
        for name, var in ENV_VARS.items():
            raw = os.environ.get(var, "").strip()
            if not raw:
                continue
            if name in _SWITCHES:
                overrides[name] = _parse_bool(var, raw)
            elif name == "system_metrics_interval":
                overrides[name] = _parse_number(var, raw, float)
            else:
                overrides[name] = _parse_number(var, raw, int)
            try:
                cls(**{name: overrides[name]})  # type: ignore[arg-type]
            except InvalidArgumentError as e:
                raise InvalidArgumentError(f"{e.message} (from {var}={raw!r})", field=var) from None
        return cls(**overrides)  # type: ignore[arg-type]


def _parse_bool(var: str, raw: str) -> bool:
    lowered = raw.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise InvalidArgumentError(
        f"environment variable {var}={raw!r} is not a boolean; "
        "use 1/0, true/false, yes/no or on/off",
        field=var,
    )


def _parse_number(var: str, raw: str, kind: type[float] | type[int]) -> float | int:
    try:
        return kind(raw)
    except ValueError:
        raise InvalidArgumentError(
            f"environment variable {var}={raw!r} is not a valid {kind.__name__}", field=var
        ) from None


def _wrong_type(name: str, value: object, expected: str) -> InvalidArgumentError:
    return InvalidArgumentError(
        f"capture setting {name!r} must be {expected}, got {value!r} ({type(value).__name__})",
        field=name,
    )
