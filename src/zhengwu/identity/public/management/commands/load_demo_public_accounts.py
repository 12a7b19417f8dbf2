"""zhengwu load_demo_public_accounts: two demo citizens of the demo city and one enterprise.

The people are taken from the generated demo population file that `load_demo_data` wrote
(DATA_DIR/demo/人口基本信息.csv: made-up people, not real ones) — a legal representative named in
the generated 市场主体登记信息.csv and a second person as his 经办人. Their accounts go through the
same services as the portal: registration with the SMS code (read from the development outbox),
实名核验 against the lake (the verifier, not the file), 企业认证 and the 经办人 authorisation. A
check the lake does not confirm leaves the account 未实名 and says so. Run again: nothing changes.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

DEMO_MOBILES = ("13800138001", "13800138002")
PASSWORD_ENV = "ZHENGWU_DEMO_PASSWORD"  # noqa: S105 - a variable name, not a secret
DEFAULT_PASSWORD = "Zhengwu@2026demo"  # noqa: S105 - the documented demo password (directory/demo.py)
ACTIVE = {"1", "2", "存续", "在业"}


def _rows(path: Path) -> Any:
    with path.open(encoding="gbk", newline="") as fh:
        yield from csv.DictReader(fh)


class Command(BaseCommand):
    help = "创建演示城市的公众用户：一名法定代表人（已实名、已认证企业）和一名经办人（核验走数据湖）"

    def handle(self, *args: Any, **options: Any) -> None:
        from zhengwu.core.errors import DomainError
        from zhengwu.identity.public import queries, services
        from zhengwu.identity.public.models import AssuranceLevel, PublicProfile, SmsOutboxMessage
        from zhengwu.identity.public.sms import DEFAULT_SENDER

        if str(getattr(settings, "SMS_SENDER", DEFAULT_SENDER)) != DEFAULT_SENDER:
            raise CommandError("已接入真实短信网关（ZHENGWU_SMS_SENDER）：演示账号只在开发发件箱模式下创建")
        folder = Path(settings.DATA_DIR) / "demo"
        people_file, market_file = folder / "人口基本信息.csv", folder / "市场主体登记信息.csv"
        if not people_file.exists() or not market_file.exists():
            raise CommandError(f"找不到演示数据文件（{folder}）：请先运行 zhengwu load_demo_data")
        people: dict[str, str] = {}
        for row in _rows(people_file):
            people.setdefault(row.get("姓名", ""), row.get("公民身份号码", ""))
        chosen = None
        for row in _rows(market_file):
            if row.get("登记状态", "") in ACTIVE and row.get("法定代表人", "") in people:
                chosen = row
                break
        if chosen is None:
            raise CommandError("演示数据中没有法定代表人能在人口数据中找到的存续企业")
        rep_name = chosen["法定代表人"]
        agent_name = next(n for n in people if n and n != rep_name)
        password = os.environ.get(PASSWORD_ENV) or DEFAULT_PASSWORD
        accounts: list[PublicProfile] = []
        for mobile, name in zip(DEMO_MOBILES, (rep_name, agent_name), strict=True):
            profile = PublicProfile.objects.filter(mobile=mobile).select_related("user").first()
            try:
                if profile is None:
                    services.do_send_sms_code(None, mobile)
                    text = SmsOutboxMessage.objects.filter(mobile=mobile).order_by("-id").first()
                    code = text.text.split("验证码为 ")[1][:6] if text else ""
                    user = services.do_register_person(
                        None, name=name, id_no=people[name], mobile=mobile, sms_code=code, password=password,
                        password2=password, consent=True, terms_version="demo",
                    )
                    profile = PublicProfile.objects.get(user=user)
                if profile.level < AssuranceLevel.VERIFIED:
                    services.do_verify_real_name(profile.user, name=name, id_no=people[name])
            except DomainError as exc:
                if profile is None:
                    raise CommandError(f"注册演示公众用户 {mobile} 失败：{exc.message}") from exc
                self.stdout.write(self.style.WARNING(f"{queries.masked_name(name)}（{mobile}）：{exc.message}"))
            profile.refresh_from_db()
            accounts.append(profile)
            self.stdout.write(f"公众用户 {mobile}（{queries.masked_name(name)}）：{profile.get_level_display()}")
        rep, agent = accounts[0].user, accounts[1].user
        if accounts[0].level >= AssuranceLevel.VERIFIED:
            enterprise = rep.represented_enterprises.filter(uscc=chosen["统一社会信用代码"]).first()
            try:
                if enterprise is None:
                    enterprise = services.do_bind_enterprise(rep, uscc=chosen["统一社会信用代码"], ent_name=chosen["市场主体名称"])
                if accounts[1].level >= AssuranceLevel.VERIFIED and not queries.authorisation(agent, enterprise.pk):
                    services.do_authorise_agent(rep, enterprise.pk, name=agent_name, id_no=people[agent_name])
            except DomainError as exc:
                self.stdout.write(self.style.WARNING(f"企业认证：{exc.message}"))
            else:
                self.stdout.write(f"企业 {enterprise.name}：法定代表人 {DEMO_MOBILES[0]}，经办人 {DEMO_MOBILES[1]}")
        self.stdout.write(self.style.SUCCESS(f"演示公众用户已就绪：在门户用手机号码登录，密码见 {PASSWORD_ENV}（默认为演示密码）"))
