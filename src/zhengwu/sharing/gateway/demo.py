"""The demo city's gateway: 公安局's 共享审核员 (gaj_share) grants 人社局's request for 人口基本信息
with identity numbers masked and a row scope (division 441400-style code of the demo city: 人社局's
own jurisdiction), and 人社局's 社保业务系统 is a SERVICE client (scope sharing) registered by
rsj_data (given 应用系统管理员 here) and approved by xtadmin — all through the services, audited.
Its client id and secret go to ZHENGWU_DATA_DIR/gateway_demo_clients.json (mode 0600), so the
demo can call /oidc/token and /gateway/v1 (see docs/gateway.md "演示"). Idempotent."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from django.conf import settings

SYSTEM_NAME = "社保业务系统"


def demo_file() -> Path:
    return Path(settings.DATA_DIR) / "gateway_demo_clients.json"


def load_demo_gateway(request_id: int | None) -> list[str]:
    """Approve the demo request (if still pending) and register the demo SERVICE client. Returns notes."""
    from zhengwu.directory.models import BusinessRole, RoleGrant, User
    from zhengwu.directory.services import do_grant_role
    from zhengwu.identity.oidc import services as oidc
    from zhengwu.identity.oidc.models import ClientRegistration, ClientStatus
    from zhengwu.sharing import services as sharing
    from zhengwu.sharing.models import RequestStatus, ShareRequest

    notes: list[str] = []
    admin = User.objects.get(username="xtadmin")
    reviewer = User.objects.filter(username="gaj_share").first()
    registrar = User.objects.select_related("unit").get(username="rsj_data")
    unit = registrar.unit
    if unit is None:
        return ["演示账号 rsj_data 没有所属单位，未登记演示服务客户端"]
    req = ShareRequest.objects.filter(pk=request_id).first() if request_id else None
    if req is not None and req.status == RequestStatus.PENDING and reviewer is not None:
        scope = {"division_code": [unit.division_code]} if unit.division_code else {}
        grant = sharing.do_approve_share_request(
            reviewer, req, clear_items=[], scope=scope,
            comment="同意共享；公民身份号码、姓名按目录脱敏，范围限于本单位管辖区域（演示）",
        )
        notes.append(f"公安局共享审核员 gaj_share 已同意申请 #{req.pk}，授权 #{grant.pk}（身份号码脱敏，范围 {scope or '全部'}）")
    role = BusinessRole.objects.filter(code=oidc.APP_ADMIN_ROLE).first()
    if role is None:
        return [*notes, "未找到业务角色“应用系统管理员”，未登记演示服务客户端"]
    if not RoleGrant.objects.filter(user=registrar, role=role, unit=unit).exists():
        do_grant_role(admin, registrar, role, unit)
    path = demo_file()
    stored: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
    registration = ClientRegistration.objects.filter(unit=unit, name=SYSTEM_NAME).first()
    secret = stored.get("secret")
    if registration is None:
        registration, secret = oidc.do_register_client(
            registrar, unit=unit, name=SYSTEM_NAME, kind="service", audience="staff", scopes=["sharing"],
            redirect_uris=[], description="人社局办理参保登记时通过数据服务网关核验人口基本信息（演示）",
        )
    elif not secret or stored.get("client_id") != registration.application.client_id:
        secret = oidc.do_rotate_client_secret(registrar, registration.pk)
    if registration.status == ClientStatus.PENDING:
        oidc.do_approve_client(admin, registration.pk)
    stored = {"client_id": registration.application.client_id, "secret": secret, "name": SYSTEM_NAME,
              "unit": unit.name}
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(json.dumps(stored, ensure_ascii=False, indent=2))
    os.chmod(path, 0o600)
    notes.append(f"{unit.name} · {SYSTEM_NAME}：服务客户端 client_id={registration.application.client_id}，凭据写入 {path}")
    return notes
