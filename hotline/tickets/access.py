"""Who may see which tickets: operators only their counties; supervisors and admins the whole city
unless their record lists counties."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Select, false

from hotline.db.models import Operator, OperatorRole, Ticket

Q = TypeVar("Q", bound=Select[Any])


@dataclass(frozen=True)
class Viewer:
    role: OperatorRole
    counties: tuple[str, ...] = ()

    @classmethod
    def of(cls, operator: Operator) -> Viewer:
        return cls(OperatorRole(operator.role), tuple(str(c) for c in operator.counties or ()))

    @property
    def whole_city(self) -> bool:
        return self.role in (OperatorRole.SUPERVISOR, OperatorRole.ADMIN) and not self.counties


def visible_counties(viewer: Viewer | None) -> list[str] | None:
    """None = no restriction; [] = nothing (an operator without counties sees no tickets)."""
    if viewer is None or viewer.whole_city:
        return None
    return list(viewer.counties)


def restrict(query: Q, viewer: Viewer | None) -> Q:
    counties = visible_counties(viewer)
    if counties is None:
        return query
    if not counties:
        return query.where(false())
    return query.where(Ticket.county_code.in_(counties))


def can_see(viewer: Viewer | None, ticket: Ticket) -> bool:
    counties = visible_counties(viewer)
    return counties is None or ticket.county_code in counties


def narrow(viewer: Viewer | None, requested: Sequence[str] | None) -> list[str] | None:
    """Intersect requested counties with the visible ones (for reports on demand)."""
    counties = visible_counties(viewer)
    if counties is None:
        return list(requested) if requested else None
    return [c for c in (requested or counties) if c in counties]
