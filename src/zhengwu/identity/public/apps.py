from django.apps import AppConfig


class PublicAccountsConfig(AppConfig):
    """公众用户: accounts of citizens (自然人) and enterprises (法人) with their 经办人."""

    name = "zhengwu.identity.public"
    label = "public_accounts"
    verbose_name = "公众用户"
