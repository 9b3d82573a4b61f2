"""Who may see which tickets: operators only their counties; supervisors and admins the whole city
unless their record lists counties. Acting from a county's own desk (its operators' group) narrows anyone,
supervisors included, to that desk's counties: a card or command of another county is refused there."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from sqlalchemy import Select, false

from hotline.db.models import Operator, OperatorRole, Ticket

Q = TypeVar("Q", bound=Select[Any])


@dataclass(frozen=True)
class Viewer:
    role: OperatorRole
    counties: tuple[str, ...] = ()
    desk: tuple[str, ...] | None = None  # acting from a county desk: only these counties, whatever the role

    @classmethod
    def of(cls, operator: Operator) -> Viewer:
        return cls(OperatorRole(operator.role), tuple(str(c) for c in operator.counties or ()))

    def within(self, desk: tuple[str, ...] | None) -> Viewer:
        """The same person acting from a desk of these counties (None: the shared, city-wide desk)."""
        return self if desk is None else replace(self, desk=desk)

    @property
    def whole_city(self) -> bool:
        return self.role in (OperatorRole.SUPERVISOR, OperatorRole.ADMIN) and not self.counties


def visible_counties(viewer: Viewer | None) -> list[str] | None:
    """None = no restriction; [] = nothing (an operator without counties sees no tickets)."""
    if viewer is None:
        return None
    own = None if viewer.whole_city else list(viewer.counties)
    if viewer.desk is None:
        return own
    return list(viewer.desk) if own is None else [c for c in own if c in viewer.desk]


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
