"""Which legal aid centre is competent (LAL Art 38), from data the caller passes in.

decide() must stay pure, so it never reads settings: the caller builds a CentreDirectory once (usually
`CentreDirectory.from_settings(settings)`) and passes it in. The order of preference (case organ, place of
the matter, the citizen's own county, the city centre) is data in rules.yaml `routing`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from hotline.eligibility.conditions import Env, evaluate
from hotline.eligibility.decision import CentreRoute

if TYPE_CHECKING:
    from hotline.eligibility.rules import RuleSet
    from hotline.settings import Settings


class CentreLike(Protocol):
    """The shape of hotline.settings.Centre; any object with these attributes will do."""

    @property
    def name(self) -> str: ...
    @property
    def address(self) -> str: ...
    @property
    def phone(self) -> str: ...
    @property
    def hours(self) -> str: ...


@dataclass(frozen=True)
class CentreDirectory:
    """County name (and aliases/codes) -> centre, plus the city centre as the last resort."""

    by_key: Mapping[str, tuple[str, CentreLike]] = field(default_factory=dict)  # key -> (county name, centre)
    city: CentreLike | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> CentreDirectory:
        by_key: dict[str, tuple[str, CentreLike]] = {}
        for county in settings.counties:
            for key in (county.code, county.name, *county.aliases):
                by_key[key] = (county.name, county.centre)
        return cls(by_key=by_key, city=settings.city.centre)

    def lookup(self, place: str) -> tuple[str, CentreLike] | None:
        """Exact name, code or alias; also tolerates a trailing 区/县/市 the citizen added or left off."""
        text = place.strip()
        if text in self.by_key:
            return self.by_key[text]
        for suffix in ("区", "县", "市"):
            if text.endswith(suffix) and text[:-1] in self.by_key:
                return self.by_key[text[:-1]]
        return None


def route(rules: RuleSet, env: Env, directory: CentreDirectory | None) -> CentreRoute | None:
    """The first routing step whose place is known and resolvable; else the city centre; else None."""
    if directory is None:
        return None
    for step in rules.routing:
        place = env.fields.get(step.field)
        if not isinstance(place, str) or not place.strip():
            continue
        if step.when is not None and evaluate(step.when, env)[0] is not True:
            continue
        found = directory.lookup(place)
        if found is None:
            continue
        county_name, centre = found
        return CentreRoute(
            name=centre.name,
            address=centre.address,
            phone=centre.phone,
            hours=centre.hours,
            county=county_name,
            reason=step.reason,
            articles=step.articles,
        )
    if directory.city is None:
        return None
    c = directory.city
    return CentreRoute(
        name=c.name,
        address=c.address,
        phone=c.phone,
        hours=c.hours,
        county=None,
        reason=rules.city_fallback_reason,
    )
