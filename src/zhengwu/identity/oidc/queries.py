"""Reads of the OpenID provider, scoped by the actor."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from zhengwu.core.errors import NotFound
from zhengwu.directory.models import RoleGrant, Unit

from .models import ClientRegistration, ClientStatus
from .services import APP_ADMIN_ROLE, is_system_admin


def managed_units(actor: Any) -> list[Unit]:
    """Units whose systems the actor registers (where they hold 应用系统管理员)."""
    if not getattr(actor, "is_authenticated", False) or actor.admin_role:
        return []
    ids = RoleGrant.objects.filter(user=actor, role__code=APP_ADMIN_ROLE).values_list("unit_id", flat=True)
    return list(Unit.objects.filter(pk__in=ids, is_active=True).order_by("sort_order", "name"))


def unit_registrations(actor: Any) -> QuerySet[ClientRegistration]:
    units = managed_units(actor)
    return ClientRegistration.objects.filter(unit__in=units).select_related("application", "unit")


def pending_registrations(actor: Any) -> QuerySet[ClientRegistration]:
    if not is_system_admin(actor):
        return ClientRegistration.objects.none()
    return ClientRegistration.objects.filter(status=ClientStatus.PENDING).select_related("application", "unit")


def all_registrations(actor: Any) -> QuerySet[ClientRegistration]:
    if not is_system_admin(actor):
        return ClientRegistration.objects.none()
    return ClientRegistration.objects.select_related("application", "unit", "registered_by")


def registration_for(actor: Any, registration_id: int) -> ClientRegistration:
    """A registration the actor may see: their unit's (应用系统管理员) or any (系统管理员)."""
    qs = all_registrations(actor) if is_system_admin(actor) else unit_registrations(actor)
    found = qs.filter(pk=registration_id).first()
    if found is None:
        raise NotFound("应用系统不存在或您无权查看")
    return found


def logo_visible(actor: Any, registration: ClientRegistration) -> bool:
    """An approved system's logo is public (consent page); others only to who manage or review it."""
    if registration.usable:
        return True
    return is_system_admin(actor) or registration.unit in managed_units(actor)
