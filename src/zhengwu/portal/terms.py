"""The user agreement (用户协议) and privacy policy (隐私政策) of the portal: their versions live here,
once. Registration records the version consented to (public accounts import TERMS_VERSION and
PRIVACY_VERSION); changing a text means changing its version here, and the pages show it."""

TERMS_VERSION = "2026-12-01"
PRIVACY_VERSION = "2026-12-01"
TERMS_URL_NAME = "portal:terms"
PRIVACY_URL_NAME = "portal:privacy"
