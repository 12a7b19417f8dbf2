"""The 个人中心 / 企业中心 sections about the public account itself (账号与实名, 我的企业, 经办人).

Filled by the public-accounts work; the portal's apps.ready() calls register()."""


def register() -> None:
    return None
