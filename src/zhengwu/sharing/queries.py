"""Reads of 共享交换, scoped by the actor: a unit sees the requests, grants and needs it is a
party to (as consumer, provider, or assigned unit); the data authority also sees the overdue
list and every need. The 工作台's to-do counts call these same functions."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from zhengwu.catalog.constants import ShareType
from zhengwu.catalog.models import CatalogEntry
from zhengwu.core.errors import NotFound, PermissionDenied

from .models import GrantStatus, NeedStatus, RequestStatus, ShareEvent, ShareGrant, ShareNeed, ShareRequest
from .services import _is_staff, is_data_authority, is_share_reviewer, is_unit_data_admin


def _unit_id(actor: Any) -> int:
    if not _is_staff(actor):
        raise PermissionDenied("请用单位工作人员账号登录")
    return int(actor.unit_id)


def _requests() -> QuerySet[ShareRequest]:
    return ShareRequest.objects.select_related("entry", "consumer", "provider", "requester", "reviewer")


def my_unit_requests(actor: Any, status: str = "") -> QuerySet[ShareRequest]:
    """The requests the actor's unit filed (as consumer)."""
    qs = _requests().filter(consumer_id=_unit_id(actor))
    return qs.filter(status=status) if status else qs


def review_queue(actor: Any) -> QuerySet[ShareRequest]:
    """Pending requests to the actor's unit, for its 共享审核员; the oldest deadline first."""
    if not (_is_staff(actor) and is_share_reviewer(actor)):
        return ShareRequest.objects.none()
    return _requests().filter(provider_id=actor.unit_id, status=RequestStatus.PENDING).order_by("deadline", "filed_at")


def overdue_for_provider(actor: Any, today: date | None = None) -> QuerySet[ShareRequest]:
    """The actor's unit's pending requests past their answer deadline (its 工作台 to-do)."""
    today = today or timezone.localdate()
    return review_queue(actor).filter(deadline__lt=today)


def supervision_list(actor: Any, today: date | None = None) -> QuerySet[ShareRequest]:
    """督办: every unit's pending requests past their deadline, for the data authority."""
    if not is_data_authority(actor):
        raise PermissionDenied("只有数据主管部门可以查看共享申请督办清单")
    today = today or timezone.localdate()
    return _requests().filter(status=RequestStatus.PENDING, deadline__lt=today).order_by("deadline", "filed_at")


def get_request(actor: Any, pk: int) -> ShareRequest:
    """A request the actor's unit is party to (or any, for the data authority)."""
    unit_id = _unit_id(actor)
    qs = _requests()
    if not is_data_authority(actor):
        qs = qs.filter(Q(consumer_id=unit_id) | Q(provider_id=unit_id))
    found = qs.filter(pk=pk).first()
    if found is None:
        raise NotFound("共享申请不存在或无权查看", "request")
    return found


def timeline(share_request: ShareRequest) -> list[ShareEvent]:
    return list(share_request.events.all())


def grant_of(share_request: ShareRequest) -> ShareGrant | None:
    return ShareGrant.objects.filter(request=share_request).first()


def grants_received(actor: Any, status: str = "") -> QuerySet[ShareGrant]:
    qs = ShareGrant.objects.select_related("entry", "provider", "request").filter(consumer_id=_unit_id(actor))
    return qs.filter(status=status) if status else qs


def grants_given(actor: Any, status: str = "") -> QuerySet[ShareGrant]:
    qs = ShareGrant.objects.select_related("entry", "consumer", "request").filter(provider_id=_unit_id(actor))
    return qs.filter(status=status) if status else qs


def active_grant(consumer_id: int, entry_id: int, today: date | None = None) -> ShareGrant | None:
    """The consumer's grant in force for an entry today (for the layers built on grants)."""
    today = today or timezone.localdate()
    return (
        ShareGrant.objects.filter(
            consumer_id=consumer_id, entry_id=entry_id, status=GrantStatus.ACTIVE,
            valid_from__lte=today, valid_until__gte=today,
        ).order_by("-valid_until").first()
    )


def requestable_entries(actor: Any) -> QuerySet[CatalogEntry]:
    """Live entries of other units that may be requested (not 不予共享)."""
    unit_id = _unit_id(actor)
    return (
        CatalogEntry.objects.filter(is_live=True).exclude(share_type=ShareType.NONE).exclude(provider_id=unit_id)
        .select_related("provider").order_by("provider__sort_order", "resource_code")
    )


def needs_for(actor: Any) -> QuerySet[ShareNeed]:
    """Needs the actor's unit posted or was assigned; every need for the data authority."""
    unit_id = _unit_id(actor)
    qs = ShareNeed.objects.select_related("requester_unit", "assigned_unit", "answer_entry")
    if not is_data_authority(actor):
        qs = qs.filter(Q(requester_unit_id=unit_id) | Q(assigned_unit_id=unit_id))
    return qs


def needs_to_assign(actor: Any) -> QuerySet[ShareNeed]:
    if not is_data_authority(actor):
        return ShareNeed.objects.none()
    return needs_for(actor).filter(status=NeedStatus.OPEN)


def needs_to_answer(actor: Any) -> QuerySet[ShareNeed]:
    if not is_unit_data_admin(actor):
        return ShareNeed.objects.none()
    return needs_for(actor).filter(status=NeedStatus.ASSIGNED, assigned_unit_id=actor.unit_id)


def clear_items_for_grant(actor: Any, grant: ShareGrant) -> frozenset[str]:
    """The fields of the granted resource the consumer's `actor` may see clear: only those the
    grant allows clear (catalog.queries.clear_items_for decides, core.masking applies), and
    nothing once the grant is no longer in force."""
    from zhengwu.catalog.queries import clear_items_for

    today = timezone.localdate()
    in_force = grant.status == GrantStatus.ACTIVE and grant.valid_from <= today <= grant.valid_until
    if not in_force or getattr(actor, "unit_id", None) != grant.consumer_id:
        return frozenset()
    return clear_items_for(actor, grant.entry, granted_clear=[f for f in grant.clear_items if f in grant.items])


class ApplicationPrincipal:
    """A unit's system calling the data gateway (no person behind it): it holds no business role,
    so the catalog never treats it as the provider's 数据管理员 — it sees clear only what its
    unit's grant in force allows clear."""

    is_authenticated = False
    is_active = False
    admin_role = ""

    def __init__(self, unit_id: int) -> None:
        self.unit_id = unit_id


def clear_items_for_application(unit_id: int, grant: ShareGrant) -> frozenset[str]:
    """clear_items_for_grant for a unit's system (the data gateway's caller)."""
    return clear_items_for_grant(ApplicationPrincipal(unit_id), grant)
