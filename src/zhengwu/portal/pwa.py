"""The portal as an installable app (PWA): the web app manifest, the service worker, the icons.

- The manifest names the app 我的<城市>, starts at /portal/ with scope /portal/, standalone.
- The icons are drawn here with Pillow (a stylised government building on the brand red), once
  per process, so the repository holds no copied image.
- The service worker (static template portal/sw.js, served at /portal/sw.js so its scope can be
  /portal/) precaches the shell — stylesheet, script, icons, the offline page — under a cache name
  that carries a digest of those files, so any change to them installs a new cache and drops the
  old one. Navigations go to the network; when it is down the offline page is shown. It never
  stores personal pages (个人中心, 企业中心, the account pages) or any non-GET answer: only the
  precached shell is ever in its cache.
"""

from __future__ import annotations

import hashlib
import io
import json
from functools import lru_cache

from django.contrib.staticfiles import finders
from django.http import HttpRequest, HttpResponse
from django.template.loader import get_template, render_to_string
from django.templatetags.static import static
from django.urls import reverse
from django.views.decorators.http import require_GET

from . import site

ICON_SIZES = (192, 512)
SHELL_STATIC = ("portal/portal.css", "portal/portal.js")
# Never cached by the service worker (also sent no-store by their views): personal pages.
PRIVATE_PREFIXES = ("me/", "enterprise/", "account/", "console/", "logout/")


@require_GET
def manifest(request: HttpRequest) -> HttpResponse:
    home = reverse("portal:home")
    body = {
        "name": site.app_name(),
        "short_name": site.app_name(),
        "description": f"{site.site_name()}：办事服务、开放数据、通知公告与个人中心",
        "lang": "zh-CN",
        "dir": "ltr",
        "id": home,
        "start_url": home,
        "scope": home,
        "display": "standalone",
        "theme_color": site.THEME_COLOR,
        "background_color": site.BACKGROUND_COLOR,
        "icons": [
            {"src": reverse("portal:icon", args=[size]), "sizes": f"{size}x{size}", "type": "image/png", "purpose": "any"}
            for size in ICON_SIZES
        ] + [
            {"src": reverse("portal:icon", args=[512]), "sizes": "512x512", "type": "image/png", "purpose": "maskable"}
        ],
    }
    response = HttpResponse(json.dumps(body, ensure_ascii=False, indent=2), content_type="application/manifest+json")
    response["Cache-Control"] = "no-cache"
    return response


@require_GET
def icon(request: HttpRequest, size: int) -> HttpResponse:
    if size not in ICON_SIZES:
        from django.http import Http404

        raise Http404("图标尺寸只有 192 和 512")
    response = HttpResponse(draw_icon(size), content_type="image/png")
    response["Cache-Control"] = "public, max-age=86400"
    return response


@lru_cache(maxsize=len(ICON_SIZES))
def draw_icon(size: int) -> bytes:
    """A white government building (roof, frieze, five columns, steps) on the brand red. Everything
    sits inside the central 80 % so the same picture works as a maskable icon."""
    from PIL import Image, ImageDraw

    scale = 4  # draw large and shrink: smooth edges without anti-aliasing primitives
    n = size * scale
    img = Image.new("RGB", (n, n), site.THEME_COLOR)
    d = ImageDraw.Draw(img)
    white = (255, 255, 255)

    def box(x0: float, y0: float, x1: float, y1: float) -> None:
        d.rectangle([x0 * n, y0 * n, x1 * n, y1 * n], fill=white)

    d.polygon([(0.5 * n, 0.22 * n), (0.78 * n, 0.38 * n), (0.22 * n, 0.38 * n)], fill=white)  # roof
    box(0.24, 0.40, 0.76, 0.44)  # frieze
    for i in range(5):  # columns
        x = 0.27 + i * 0.105
        box(x, 0.47, x + 0.05, 0.68)
    box(0.24, 0.70, 0.76, 0.74)  # steps
    box(0.20, 0.76, 0.80, 0.80)
    d.ellipse([0.47 * n, 0.28 * n, 0.53 * n, 0.34 * n], fill=site.THEME_COLOR)  # the emblem in the pediment
    img = img.resize((size, size), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    img.save(out, format="PNG", optimize=True)
    return out.getvalue()


def shell_urls() -> list[str]:
    return [static(p) for p in SHELL_STATIC] + [reverse("portal:icon", args=[s]) for s in ICON_SIZES] + [
        reverse("portal:offline")
    ]


@lru_cache(maxsize=1)
def shell_version() -> str:
    """A digest of everything precached (and of the worker itself): a new shell, a new cache."""
    digest = hashlib.sha256()
    for path in SHELL_STATIC:
        found = finders.find(path)
        with open(str(found), "rb") as fh:
            digest.update(fh.read())
    for template in ("portal/offline.html", "portal/base.html", "portal/sw.js"):
        origin = get_template(template).origin.name  # type: ignore[attr-defined]
        with open(origin, "rb") as fh:
            digest.update(fh.read())
    for size in ICON_SIZES:
        digest.update(draw_icon(size))
    digest.update(site.city_name().encode())
    return digest.hexdigest()[:12]


@require_GET
def service_worker(request: HttpRequest) -> HttpResponse:
    home = reverse("portal:home")
    config = {
        "cache": f"portal-shell-{shell_version()}",
        "cachePrefix": "portal-shell-",
        "shell": shell_urls(),
        "offline": reverse("portal:offline"),
        "scope": home,
        "private": [home + p for p in PRIVATE_PREFIXES],
    }
    body = render_to_string("portal/sw.js", {"config": json.dumps(config, ensure_ascii=False)})
    response = HttpResponse(body, content_type="text/javascript; charset=utf-8")
    response["Service-Worker-Allowed"] = home
    response["Cache-Control"] = "no-cache"  # browsers check the worker for updates on each visit
    return response
