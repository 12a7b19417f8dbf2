"""Password rules from the security policy, as a Django AUTH_PASSWORD_VALIDATORS validator.

Rules (numbers from `SecurityPolicy`, edited in the 安全管理员 console):
length, character classes (upper, lower, digit, symbol), no username (case-insensitive),
no full name, and no reuse of the last N passwords.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.hashers import check_password
from django.core.exceptions import ValidationError

from .models import PasswordHistory, SecurityPolicy

CLASS_NAMES = ("大写字母", "小写字母", "数字", "符号")


def character_classes(password: str) -> set[str]:
    """Which of the four classes occur in `password` (symbols: anything else that is printable)."""
    found: set[str] = set()
    for ch in password:
        if "A" <= ch <= "Z":
            found.add("大写字母")
        elif "a" <= ch <= "z":
            found.add("小写字母")
        elif ch.isdigit():
            found.add("数字")
        elif not ch.isspace() and ch.isprintable():
            found.add("符号")
    return found


def _policy() -> SecurityPolicy:
    from .queries import get_policy

    return get_policy()


def recent_password_hashes(user: Any, count: int) -> list[str]:
    """The user's current hash and up to `count` earlier ones (newest first)."""
    hashes: list[str] = []
    current = getattr(user, "password", "") or ""
    if current and not current.startswith("!"):
        hashes.append(current)
    if count > 0 and getattr(user, "pk", None) is not None:
        hashes.extend(
            PasswordHistory.objects.filter(user_id=user.pk).values_list("password_hash", flat=True)[:count]
        )
    return hashes


class PolicyPasswordValidator:
    """Checks a new password against the security policy; every message names the rule broken."""

    def __init__(self, policy: SecurityPolicy | None = None) -> None:
        self._fixed_policy = policy

    def policy(self) -> SecurityPolicy:
        return self._fixed_policy or _policy()

    def validate(self, password: str, user: Any = None) -> None:
        policy = self.policy()
        errors: list[ValidationError] = []
        if len(password) < policy.password_min_length:
            errors.append(
                ValidationError(
                    f"密码长度不能少于 {policy.password_min_length} 位（长度规则）",
                    code="password_too_short",
                )
            )
        classes = character_classes(password)
        if len(classes) < policy.password_min_classes:
            missing = "、".join(name for name in CLASS_NAMES if name not in classes)
            errors.append(
                ValidationError(
                    f"密码须包含大写字母、小写字母、数字、符号中的至少 {policy.password_min_classes} 类"
                    f"（复杂度规则；当前缺少：{missing}）",
                    code="password_too_simple",
                )
            )
        if user is not None:
            username = (getattr(user, "username", "") or "").strip()
            if username and username.lower() in password.lower():
                errors.append(
                    ValidationError("密码不能包含用户名（不区分大小写）", code="password_contains_username")
                )
            full_name = (getattr(user, "full_name", "") or "").strip()
            if full_name and full_name.lower() in password.lower():
                errors.append(ValidationError("密码不能包含本人姓名", code="password_contains_name"))
            if policy.password_history > 0 and self.reuses_history(password, user, policy.password_history):
                errors.append(
                    ValidationError(
                        f"不能使用最近 {policy.password_history} 次用过的密码（历史密码规则）",
                        code="password_reused",
                    )
                )
        if errors:
            raise ValidationError(errors)

    def password_changed(self, password: str, user: Any = None) -> None:
        """Django's hook after a user with a new password is saved: remember it in the history."""
        if user is not None:
            from .services import remember_password

            remember_password(user)

    @staticmethod
    def reuses_history(password: str, user: Any, count: int) -> bool:
        return any(check_password(password, encoded) for encoded in recent_password_hashes(user, count))

    def get_help_text(self) -> str:
        policy = self.policy()
        parts = [
            f"至少 {policy.password_min_length} 位",
            f"包含大写字母、小写字母、数字、符号中的至少 {policy.password_min_classes} 类",
            "不得包含用户名或姓名",
        ]
        if policy.password_history:
            parts.append(f"不得与最近 {policy.password_history} 次用过的密码相同")
        parts.append(f"每 {policy.password_max_age_days} 天须修改一次")
        return "；".join(parts) + "。"
