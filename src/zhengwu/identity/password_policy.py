from typing import Any

from django.core.exceptions import ValidationError


class PolicyPasswordValidator:
    def validate(self, password: str, user: Any = None) -> None:
        if len(password) < 8:
            raise ValidationError("密码长度不能少于 8 位", code="password_too_short")

    def get_help_text(self) -> str:
        return "密码长度不能少于 8 位"
