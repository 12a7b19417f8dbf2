"""zhengwu load_demo_oidc_clients — the demo city's two example unit systems, registered and approved.

示范市市场监督管理局's 企业登记系统 and 示范市公安局's 户政管理系统 (both confidential web apps for
staff, scopes openid profile unit roles), registered by the units' data administrators (given the
business role 应用系统管理员 here) and approved by the demo 系统管理员 xtadmin, each through the
services (audited). Their client ids and secrets are written to ZHENGWU_DATA_DIR/oidc_demo_clients.json
(mode 0600) for `zhengwu demo_unit_system`. Idempotent: an existing system keeps its client id; its
secret is rotated only when the file lacks it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from zhengwu.directory.models import BusinessRole, RoleGrant, User
from zhengwu.directory.services import do_grant_role
from zhengwu.identity.oidc import services
from zhengwu.identity.oidc.models import ClientRegistration, ClientStatus

DEMO_SYSTEMS: list[dict[str, Any]] = [
    {"key": "scj", "name": "企业登记系统", "unit": "示范市市场监督管理局", "registrar": "scj_data", "port": 8101},
    {"key": "gaj", "name": "户政管理系统", "unit": "示范市公安局", "registrar": "gaj_data", "port": 8102},
]


def demo_file() -> Path:
    return Path(settings.DATA_DIR) / "oidc_demo_clients.json"


def demo_urls(port: int) -> dict[str, str]:
    base = f"http://127.0.0.1:{port}"
    return {"redirect": f"{base}/callback", "post_logout": f"{base}/", "backchannel": f"{base}/backchannel-logout"}


class Command(BaseCommand):
    help = "登记并批准示范市的两个示例应用系统（统一身份认证），客户端凭据写入数据目录"

    def _allow_demo_port(self, port: int) -> None:
        """When the deployment allows the demo system's loopback port (ZHENGWU_EGRESS_ALLOW_LOCAL), the
        demo 安全管理员 aqadmin lists it in the allowlist (audited), so back-channel logout can reach it."""
        from zhengwu.core.models import EgressDestination
        from zhengwu.identity.services import do_add_egress_destination

        allowed = f"127.0.0.1:{port}" in settings.EGRESS_ALLOW_LOCAL
        security = User.objects.filter(username="aqadmin").first()
        if not allowed or security is None:
            return
        if not EgressDestination.objects.filter(host="127.0.0.1/32", port_min__lte=port, port_max__gte=port).exists():
            do_add_egress_destination(security, host="127.0.0.1/32", ports=str(port), note="示例业务系统的后台退出通知")

    def handle(self, *args: Any, **options: Any) -> None:
        admin = User.objects.filter(username="xtadmin").first()
        role = BusinessRole.objects.filter(code=services.APP_ADMIN_ROLE).first()
        if admin is None or role is None:
            raise CommandError("请先运行 zhengwu migrate 和 zhengwu load_demo_city")
        path = demo_file()
        stored: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
        for system in DEMO_SYSTEMS:
            registrar = User.objects.select_related("unit").filter(username=system["registrar"]).first()
            if registrar is None or registrar.unit is None or registrar.unit.name != system["unit"]:
                raise CommandError(f"示范账号 {system['registrar']}（{system['unit']}）不存在，请先运行 load_demo_city")
            if not RoleGrant.objects.filter(user=registrar, role=role, unit=registrar.unit).exists():
                do_grant_role(admin, registrar, role, registrar.unit)
            urls = demo_urls(system["port"])
            registration = ClientRegistration.objects.filter(unit=registrar.unit, name=system["name"]).first()
            entry = stored.get(system["key"], {})
            if registration is None:
                self._allow_demo_port(system["port"])
                backchannel = urls["backchannel"]
                try:
                    services.check_backchannel_uri(backchannel)
                except Exception:
                    backchannel = ""
                    self.stdout.write(
                        f"{system['name']}：未登记后台退出通知（127.0.0.1:{system['port']} 不在出站允许范围；"
                        f"见 docs/sso.md“示范”）"
                    )
                registration, secret = services.do_register_client(
                    registrar, unit=registrar.unit, name=system["name"], kind="web", audience="staff",
                    scopes=["openid", "profile", "unit", "roles"], redirect_uris=[urls["redirect"]],
                    post_logout_redirect_uris=[urls["post_logout"]], backchannel_logout_uri=backchannel,
                    description=f"{system['unit']}的示例业务系统（演示单点登录）",
                )
                entry = {"secret": secret}
            elif not entry.get("secret") or entry.get("client_id") != registration.application.client_id:
                entry = {"secret": services.do_rotate_client_secret(registrar, registration.pk)}
            if registration.status == ClientStatus.PENDING:
                services.do_approve_client(admin, registration.pk)
            stored[system["key"]] = {
                **entry, "client_id": registration.application.client_id, "name": system["name"],
                "unit": system["unit"], "port": system["port"], **urls,
            }
            self.stdout.write(f"{system['unit']} · {system['name']}：client_id={registration.application.client_id}")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(json.dumps(stored, ensure_ascii=False, indent=2))
        os.chmod(path, 0o600)
        self.stdout.write(f"客户端凭据已写入 {path}（仅本用户可读）")
