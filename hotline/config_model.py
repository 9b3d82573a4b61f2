"""The strict base of every configuration model, and the one way a configuration error is shown.

Every section of config/hotline.yaml (city, counties, eligibility, sla, reports, ...) is a frozen model
that forbids unknown keys, so a typo such as `rasa.urll` stops the start-up instead of being silently
ignored. Errors name the bad key by its dotted path (`counties.2.code`), the string a deployer searches
the YAML for; the explanation is pydantic's own sentence, so it stays precise for every constraint.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict, ValidationError


class ConfigError(Exception):
    """Raised with a human-readable message naming the bad key."""


class Strict(BaseModel):
    """Base of every configuration section: unknown keys are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def key_path(loc: Sequence[int | str]) -> str:
    """`("counties", 2, "code")` -> `counties.2.code`; the root itself is `<根>`."""
    return ".".join(str(part) for part in loc) or "<根>"


def format_errors(exc: ValidationError, source: str) -> str:
    """One line per problem, each naming the key path, under a header naming where the values came from."""
    lines = [f"配置 {source} 有误 (configuration error):"]
    lines += [f"  - {key_path(err['loc'])}: {err['msg']}" for err in exc.errors()]
    return "\n".join(lines)
