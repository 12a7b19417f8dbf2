"""Registries of the portal, filled by the apps above it at start-up (their `AppConfig.ready()`).

The portal (门户) is the public shell that open data, 一网通办 and 12345 hang their public pages on.
It never imports those apps: each registers here what the portal shows for it.

- Navigation items (`register_nav`): the main navigation of every portal page, by `order`.
- Quick entries (`register_quick_entry`): the tiles of the home page.
- Sections (`register_section`): the blocks of 个人中心 (audience "person") and 企业中心
  (audience "enterprise"). The portal defines the *slots* the issue names — 我的办件, 我的诉求,
  我的证照, 我的数据使用记录 — with an empty text saying what will come and when; an app fills a
  slot by registering a section with the slot's key (its template and context function replace the
  empty text). Nothing fake: a slot without a provider shows its empty text, never sample rows.
- Search providers (`register_search_provider`): a function (query, user) → results (title, url,
  kind) for the home search. The expected kinds (办事服务, 开放数据, 通知公告) are listed with the
  provider that will answer them, so the search page can say which ones are not searchable yet.

Contracts:
- A section's `context(request, holder)` returns the template context, or None when the holder
  has nothing there (the section then shows its `empty_text`). `holder.enterprise` is the acting
  enterprise in 企业中心 (None in 个人中心). It must read through the providing app's queries.py,
  scoped to `holder` — the portal passes nothing else.
- A search function returns at most `limit` results the user may see (public data only for an
  anonymous visitor); result URLs must be site paths ("/…"): others are dropped by `search`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.urls import NoReverseMatch, reverse

PERSON = "person"
ENTERPRISE = "enterprise"
AUDIENCES = (PERSON, ENTERPRISE)


def resolve_url(target: str) -> str:
    """A site path ("/…") as is, else a URL name reversed ("portal:help")."""
    return target if target.startswith("/") else reverse(target)


def optional_url(name: str) -> str | None:
    """The URL of `name`, or None while the app that provides it is not installed yet."""
    try:
        return reverse(name)
    except NoReverseMatch:
        return None


# --- navigation and quick entries ---------------------------------------------------------
@dataclass(frozen=True)
class NavItem:
    key: str
    title: str
    url: str  # a URL name or a site path
    order: int = 100

    @property
    def href(self) -> str:
        return resolve_url(self.url)


@dataclass(frozen=True)
class QuickEntry:
    key: str
    title: str
    description: str
    url: str  # a URL name or a site path
    order: int = 100

    @property
    def href(self) -> str:
        return resolve_url(self.url)


_nav: dict[str, NavItem] = {}
_quick: dict[str, QuickEntry] = {}


def register_nav(key: str, title: str, url: str, order: int = 100) -> None:
    _nav[key] = NavItem(key, title, url, order)


def nav_items() -> list[NavItem]:
    return sorted(_nav.values(), key=lambda i: (i.order, i.key))


def register_quick_entry(key: str, title: str, description: str, url: str, order: int = 100) -> None:
    _quick[key] = QuickEntry(key, title, description, url, order)


def quick_entries() -> list[QuickEntry]:
    return sorted(_quick.values(), key=lambda i: (i.order, i.key))


# --- 个人中心 / 企业中心 sections ----------------------------------------------------------------
@dataclass(frozen=True)
class Holder:
    """Whose 个人中心 / 企业中心 is being shown: the signed-in person, and in 企业中心 the
    enterprise they act for (an object of the public-accounts app, or None)."""

    user: Any
    audience: str
    enterprise: Any = None


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    audience: str
    empty_text: str
    order: int = 100
    template: str | None = None
    context: Callable[[Any, Holder], dict[str, Any] | None] | None = None
    provider: str = ""  # who fills it (shown nowhere; for docs and tests)

    def __post_init__(self) -> None:
        if self.audience not in AUDIENCES:
            raise ValueError(f"portal section {self.key}: unknown audience {self.audience!r}")
        if (self.template is None) != (self.context is None):
            raise ValueError(f"portal section {self.key}: template and context go together")

    @property
    def is_slot(self) -> bool:
        """True while no app provides this section: only its empty text is shown."""
        return self.template is None


_sections: dict[str, Section] = {}


def register_section(
    key: str,
    title: str,
    audience: str,
    *,
    empty_text: str,
    order: int = 100,
    template: str | None = None,
    context: Callable[[Any, Holder], dict[str, Any] | None] | None = None,
    provider: str = "",
) -> None:
    """Add a section, or fill the slot with this key (the later registration wins)."""
    _sections[key] = Section(key, title, audience, empty_text, order, template, context, provider)


def sections_for(audience: str) -> list[Section]:
    return sorted((s for s in _sections.values() if s.audience == audience), key=lambda s: (s.order, s.key))


def get_section(key: str) -> Section | None:
    return _sections.get(key)


# The slots the issue names, in both centres, until 一网通办, 12345, 电子证照 and 数据共享 fill them.
SLOTS: list[tuple[str, str, str, int, str, str]] = [
    # (key, title, audience, order, empty text, provider)
    ("person.cases", "我的办件", PERSON, 20,
     "一网通办上线后，您在网上申请的事项、办理进度和结果将显示在这里。", "一网通办"),
    ("person.tickets", "我的诉求", PERSON, 30,
     "12345 政务服务便民热线接入后，您通过网站、电话或 App 提出的诉求及其办理和回复将显示在这里。", "12345 热线"),
    ("person.licences", "我的证照", PERSON, 40,
     "电子证照库接入后，以您本人为持证人的电子证照（如居民身份证、驾驶证、学历证书）将显示在这里，"
     "办事时可直接调用，无需再交纸质材料。", "电子证照"),
    ("person.data_use", "我的数据使用记录", PERSON, 50,
     "数据共享上线后，哪个部门在什么时间、为了办理什么事项使用了您的个人信息，将逐条显示在这里"
     "（依据《个人信息保护法》，您有权知道）。", "数据共享"),
    ("enterprise.cases", "企业办件", ENTERPRISE, 20,
     "一网通办上线后，您以本企业名义申请的事项、办理进度和结果将显示在这里。", "一网通办"),
    ("enterprise.tickets", "企业诉求", ENTERPRISE, 30,
     "12345 政务服务便民热线接入后，本企业提出的诉求及其办理和回复将显示在这里。", "12345 热线"),
    ("enterprise.licences", "企业证照", ENTERPRISE, 40,
     "电子证照库接入后，本企业的营业执照和各类许可证的电子证照将显示在这里。", "电子证照"),
    ("enterprise.data_use", "企业数据使用记录", ENTERPRISE, 50,
     "数据共享上线后，哪个部门在什么时间、为了办理什么事项使用了本企业的登记信息，将逐条显示在这里。", "数据共享"),
]


def register_slots() -> None:
    for key, title, audience, order, empty_text, provider in SLOTS:
        if key not in _sections:  # an app that registered first keeps its provider
            register_section(key, title, audience, empty_text=empty_text, order=order, provider=provider)


# --- search ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class SearchResult:
    title: str
    url: str  # a site path
    kind: str  # 办事服务 / 开放数据 / 通知公告 …
    summary: str = ""
    date: Any = None  # a date or datetime shown beside the result, if any


@dataclass(frozen=True)
class SearchProvider:
    key: str
    kind: str
    search: Callable[[str, Any, int], list[SearchResult]] | None
    order: int = 100
    pending_text: str = ""  # said while search is None (the app is not there yet)


_search: dict[str, SearchProvider] = {}

# What the home search covers (issue 10: services, open data and news), until their apps answer.
SEARCH_KINDS: list[tuple[str, str, int, str]] = [
    ("services", "办事服务", 10, "一网通办上线后可在这里搜索办事指南和在线申请。"),
    ("opendata", "开放数据", 20, "开放数据平台上线后可在这里搜索开放的数据集。"),
    ("notices", "通知公告", 30, ""),
]


def register_search_provider(
    key: str, kind: str, search: Callable[[str, Any, int], list[SearchResult]], order: int = 100
) -> None:
    """`search(query, user, limit)` → results the user may see, best first."""
    _search[key] = SearchProvider(key, kind, search, order)


def register_search_kinds() -> None:
    for key, kind, order, pending in SEARCH_KINDS:
        if key not in _search:
            _search[key] = SearchProvider(key, kind, None, order, pending)


def search_providers() -> list[SearchProvider]:
    return sorted(_search.values(), key=lambda p: (p.order, p.key))


@dataclass
class SearchGroup:
    key: str
    kind: str
    results: list[SearchResult] = field(default_factory=list)
    pending_text: str = ""


def search(query: str, user: Any, limit: int = 20) -> list[SearchGroup]:
    """Every provider's results for `query`, grouped by kind; URLs that are not site paths dropped."""
    groups = []
    for provider in search_providers():
        if provider.search is None:
            groups.append(SearchGroup(provider.key, provider.kind, [], provider.pending_text))
            continue
        results = [r for r in provider.search(query, user, limit)[:limit] if _is_site_path(r.url)]
        groups.append(SearchGroup(provider.key, provider.kind, results))
    return groups


def _is_site_path(url: str) -> bool:
    # "/x" yes; "//host", "/\\host", "javascript:", "https://…" no — nor any control character or
    # space, which browsers drop from a URL ("/\t/host" is "//host" to them).
    if any(ord(ch) <= 0x20 or ord(ch) == 0x7F for ch in url):
        return False
    return url.startswith("/") and not url.startswith(("//", "/\\"))


# --- the acting enterprise of 企业中心 ------------------------------------------------------------
_enterprise_resolver: list[Callable[[Any], Any]] = []


def register_enterprise_resolver(resolver: Callable[[Any], Any]) -> None:
    """`resolver(request)` → the enterprise the signed-in person acts for now, or None. Registered by
    the public-accounts app (it keeps 法人 accounts and 经办人 authorisations); checked on every request."""
    _enterprise_resolver[:] = [resolver]


def enterprise_resolver() -> Callable[[Any], Any] | None:
    return _enterprise_resolver[0] if _enterprise_resolver else None
