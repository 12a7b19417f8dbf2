"""zhengwu oidc_rotate_key — a new signing key for ID tokens (the old one stays published until
every token it signed has expired), and retire keys past that point."""

from typing import Any

from django.core.management.base import BaseCommand

from zhengwu.identity.oidc import services


class Command(BaseCommand):
    help = "更换统一身份认证的令牌签名密钥（旧密钥继续发布，直到其签发的令牌全部过期）"

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--retire-only", action="store_true", help="只停止发布已过期的旧密钥，不生成新密钥")

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["retire_only"]:
            new, previous = services.do_rotate_signing_key()
            self.stdout.write(f"新签名密钥 kid={new}" + (f"，原密钥 {previous} 继续发布至其令牌过期" if previous else ""))
        retired = services.do_retire_signing_keys()
        for kid in retired:
            self.stdout.write(f"已停止发布旧密钥 kid={kid}")
