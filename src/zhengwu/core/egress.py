"""The egress policy: every outbound connection the platform makes on a user's behalf.

Database sources now, webhook deliveries and consumer databases later: each asks
`resolve_destination(host, port, purpose=...)` for the one address it may connect to, and connects
to that address (never to the name again, so a DNS answer cannot change between the check and the
connection). `open_tcp(...)` does both for plain TCP clients.

The rules, in order (docs/security.md, "出站连接（egress）策略"):

1. The host is normalised first: upper case, trailing dots, `[...]` brackets, IPv6 zone ids, and the
   numeric spellings an attacker uses to hide a loopback address (`2130706433`, `0x7f000001`,
   `0177.0.0.1`, `127.1`, `::ffff:127.0.0.1`) all become the one canonical address.
2. A name is resolved once (getaddrinfo) and *every* address it resolves to is checked.
3. The platform's own database (same server address and port, same database name as
   `settings.DATABASES["default"]`) and its own web/worker ports (`settings.EGRESS_OWN_PORTS`) on
   this machine are always refused, whatever the allowlist and the environment say.
4. Loopback, link-local, unspecified, multicast, broadcast, reserved and this machine's own
   addresses are refused unless the deployment allows the exact address and port in the
   environment (`ZHENGWU_EGRESS_ALLOW_LOCAL`, never the console).
5. Everything else must match a row of the allowlist (`EgressDestination`: a host name or an IP
   network, and a port range) that the 安全管理员 keeps in the console.

Every refusal and every connection failure reaches the user as the same Chinese sentence with a
reference number (`EgressRefused`), so the answer tells nothing about which ports are open or which
hosts exist; the detail goes to the server log under that reference and, through the caller, to the
audit record (`EgressRefused.detail`).
"""

from __future__ import annotations

import functools
import http.client
import ipaddress
import itertools
import logging
import os
import re
import secrets
import socket
import ssl
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from .errors import DomainError

log = logging.getLogger("zhengwu.egress")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# What the user calls the thing being connected to, by purpose.
PURPOSE_LABELS = {
    "datahub.source": "数据源",
    "sharing.webhook": "回调地址",
    "sharing.database": "目标数据库",
    "oidc.backchannel": "退出通知地址",
    "sharing.exchange.webhook": "推送地址",
    "sharing.exchange.database": "目标数据库",
}

DEFAULT_DB_PORTS = {"postgresql": 5432, "mysql": 3306}

_HOSTNAME = re.compile(r"^(?=.{1,253}$)([a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9])?)(\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9])?)*$")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_THIS_NETWORK = ipaddress.IPv4Network("0.0.0.0/8")
_BROADCAST = ipaddress.IPv4Address("255.255.255.255")


@dataclass(frozen=True)
class Destination:
    """Where to connect: `ip` (canonical text) and `port`; `host` is the normalised name the user
    gave (for TLS server-name checks and messages)."""

    ip: str
    port: int
    host: str

    @property
    def family(self) -> int:
        return socket.AF_INET6 if ":" in self.ip else socket.AF_INET


class EgressRefused(DomainError):
    """A refused or failed outbound connection. `message` is the same for every cause; `detail`
    (for the log and the audit record, never for the user) says what happened."""

    def __init__(self, purpose: str, detail: str, field: str | None = "url", reference: str = "") -> None:
        self.reference = reference or secrets.token_hex(4)
        label = PURPOSE_LABELS.get(purpose, "目标地址")
        super().__init__(f"无法连接该{label}：目标不在允许范围内或暂时不可达（参考编号 {self.reference}）", field)
        self.purpose = purpose
        self.detail = detail


def refuse(purpose: str, detail: str, *, field: str | None = "url") -> EgressRefused:
    """The error to raise for a refusal or a connection failure; the detail is logged here."""
    error = EgressRefused(purpose, detail, field)
    log.warning("egress %s refused [%s]: %s", purpose, error.reference, detail)
    return error


# --------------------------------------------------------------------------------------------
# Normalising hosts and addresses
# --------------------------------------------------------------------------------------------


def _ipv4_part(text: str) -> int | None:
    """One part of a dotted IPv4 address in the spellings inet_aton() accepts: decimal, 0x hex,
    leading-zero octal."""
    if not text:
        return None
    try:
        if text[:2] in ("0x", "0X"):
            return int(text[2:], 16) if text[2:] else 0
        if len(text) > 1 and text[0] == "0":
            return int(text[1:], 8)
        return int(text, 10) if text.isascii() and text.isdigit() else None
    except ValueError:
        return None


def _loose_ipv4(text: str) -> ipaddress.IPv4Address | None:
    """`127.1`, `2130706433`, `0x7f000001`, `0177.0.0.1`, `0x7f.1` … as an IPv4 address (the WHATWG
    URL / inet_aton rules: the last part fills the remaining bytes), or None if it is not numeric."""
    parts = text.split(".")
    if len(parts) > 4:
        return None
    numbers = [_ipv4_part(p) for p in parts]
    if any(n is None for n in numbers):
        return None
    values = [n for n in numbers if n is not None]
    *head, last = values
    if any(n > 255 for n in head) or last >= 256 ** (5 - len(values)):
        return None
    value = last
    for i, n in enumerate(head):
        value += n << (8 * (3 - i))
    return ipaddress.IPv4Address(value)


def parse_address(text: str) -> IPAddress | None:
    """The IP address a host text spells, in any of the numeric forms, or None for a name."""
    host = text.strip().lower().rstrip(".")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if ":" in host:
        host = host.split("%", 1)[0]  # a zone id (fe80::1%eth0) does not change the address
        try:
            return ipaddress.IPv6Address(host)
        except ValueError:
            return None
    return _loose_ipv4(host)


def normalise_host(text: str) -> str:
    """The canonical form of a host: an IP address as `ipaddress` prints it, or a lower-case name
    (IDNA-encoded, without trailing dots). ValueError if it is neither."""
    raw = (text or "").strip()
    if not raw:
        raise ValueError("empty host")
    address = parse_address(raw)
    if address is not None:
        return str(address)
    host = raw.lower().rstrip(".")
    if host.startswith("[") or ":" in host:
        raise ValueError(f"not an IPv6 address: {raw!r}")
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise ValueError(f"not a host name: {raw!r}") from exc
    if not _HOSTNAME.match(host) or host.replace(".", "").isdigit():
        raise ValueError(f"not a host name: {raw!r}")
    return host


def embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries and that the kernel may route to (mapped
    ::ffff:a.b.c.d, compatible ::a.b.c.d, NAT64 64:ff9b::a.b.c.d, 6to4 2002:aabb:ccdd::)."""
    if isinstance(address, ipaddress.IPv4Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if int(address) >> 32 == 0 and int(address) > 1:  # ::a.b.c.d (deprecated "compatible")
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _forms(address: IPAddress) -> list[IPAddress]:
    inner = embedded_ipv4(address)
    return [address] if inner is None else [address, inner]


def is_special(address: IPAddress) -> bool:
    """Loopback, link-local, unspecified, multicast, broadcast, reserved or "this network"."""
    for a in _forms(address):
        if a.is_loopback or a.is_link_local or a.is_unspecified or a.is_multicast or a.is_reserved:
            return True
        if isinstance(a, ipaddress.IPv4Address) and (a in _THIS_NETWORK or a == _BROADCAST):
            return True
        if isinstance(a, ipaddress.IPv6Address) and a.is_site_local:
            return True
    return False


@functools.lru_cache(maxsize=1)
def _machine_addresses() -> frozenset[IPAddress]:
    """This machine's own interface addresses (Linux /proc, plus what its host name resolves to)."""
    found: set[IPAddress] = set()
    try:  # IPv4: the LOCAL entries of the routing trie
        lines = Path("/proc/net/fib_trie").read_text().splitlines()
        for previous, line in itertools.pairwise(lines):
            if "/32 host LOCAL" in line:
                match = re.search(r"(\d+\.\d+\.\d+\.\d+)\s*$", previous)
                if match:
                    found.add(ipaddress.IPv4Address(match.group(1)))
    except OSError:
        pass
    try:  # IPv6
        for line in Path("/proc/net/if_inet6").read_text().splitlines():
            hexa = line.split()[0]
            found.add(ipaddress.IPv6Address(int(hexa, 16)))
    except (OSError, ValueError, IndexError):
        pass
    try:
        for info in socket.getaddrinfo(socket.gethostname(), None):
            address = parse_address(str(info[4][0]))
            if address is not None:
                found.add(address)
    except OSError:
        pass
    return frozenset(found)


def is_this_machine(address: IPAddress) -> bool:
    return any(a.is_loopback or a.is_unspecified or a in _machine_addresses() for a in _forms(address))


# --------------------------------------------------------------------------------------------
# Deployment settings
# --------------------------------------------------------------------------------------------


def parse_port_range(text: str) -> tuple[int, int]:
    """`5432` or `5432-5439` as (low, high); ValueError if it is not a valid port or range."""
    value = (text or "").strip().replace("–", "-").replace("~", "-")
    low_text, _, high_text = value.partition("-")
    if not low_text.strip().isdigit() or (high_text and not high_text.strip().isdigit()):
        raise ValueError(f"not a port: {text!r}")
    low = int(low_text)
    high = int(high_text) if high_text else low
    if not (1 <= low <= high <= 65535):
        raise ValueError(f"not a port range: {text!r}")
    return low, high


def _split_address_port(item: str) -> tuple[str, str]:
    item = item.strip()
    if item.startswith("["):
        host, _, rest = item[1:].partition("]")
        return host, rest.lstrip(":")
    host, _, port = item.rpartition(":")
    return host, port


def allowed_local() -> list[tuple[IPAddress, int, int]]:
    """`settings.EGRESS_ALLOW_LOCAL` ("127.0.0.1:5432", "[::1]:5432", "127.0.0.1:5432-5439") parsed."""
    out = []
    for item in getattr(settings, "EGRESS_ALLOW_LOCAL", []) or []:
        host, port = _split_address_port(str(item))
        address = parse_address(host)
        try:
            low, high = parse_port_range(port)
        except ValueError:
            address = None
        if address is None:
            raise ImproperlyConfigured(
                f"ZHENGWU_EGRESS_ALLOW_LOCAL 的条目 {item!r} 不正确，应为 地址:端口，如 127.0.0.1:5432"
            )
        out.append((address, low, high))
    return out


def own_ports() -> set[int]:
    return {int(p) for p in (getattr(settings, "EGRESS_OWN_PORTS", None) or [8000])}


def _own_database() -> tuple[set[IPAddress], int, set[str]] | None:
    """The platform's own database server (addresses, port) and database names, for a server
    database; None for SQLite (its file is checked by `is_platform_database_file`)."""
    from django.db import connections

    config = settings.DATABASES.get("default", {})
    engine = str(config.get("ENGINE", ""))
    kind = "postgresql" if "postgres" in engine else "mysql" if "mysql" in engine else ""
    if not kind:
        return None
    names = {str(config.get("NAME") or "")}
    names.add(str(connections["default"].settings_dict.get("NAME") or ""))
    test_name = (config.get("TEST") or {}).get("NAME")
    if test_name:
        names.add(str(test_name))
    names = {n for n in names if n}
    host = str(config.get("HOST") or "")
    port = int(config.get("PORT") or DEFAULT_DB_PORTS[kind])
    addresses: set[IPAddress] = set()
    if not host or host.startswith("/") or host == "localhost":
        addresses |= {ipaddress.IPv4Address("127.0.0.1"), ipaddress.IPv6Address("::1")}
    else:
        address = parse_address(host)
        if address is not None:
            addresses.add(address)
        else:
            try:
                for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM):
                    resolved = parse_address(str(info[4][0]))
                    if resolved is not None:
                        addresses.add(resolved)
            except OSError:
                pass
    return addresses, port, names


def _same_server(address: IPAddress, own: set[IPAddress]) -> bool:
    forms = _forms(address)
    if any(a in own for a in forms):
        return True
    # A database on this machine is reachable by any of the machine's addresses.
    return any(is_this_machine(o) for o in own) and is_this_machine(address)


def is_platform_database_file(path: str | os.PathLike[str]) -> bool:
    """Whether a file is the platform's own SQLite database (or its -wal/-shm/-journal)."""
    from django.db import connections

    config = settings.DATABASES.get("default", {})
    candidates = {config.get("NAME"), (config.get("TEST") or {}).get("NAME"), connections["default"].settings_dict.get("NAME")}
    try:
        target = Path(path).resolve()
    except (OSError, RuntimeError):
        return True
    stem = Path(re.sub(r"-(wal|shm|journal)$", "", str(target)))
    for candidate in candidates:
        if not candidate or str(candidate).startswith(":memory:") or str(candidate).startswith("file:"):
            continue
        own = Path(str(candidate)).resolve()
        if stem == own or (own.exists() and stem.exists() and os.path.samefile(stem, own)):
            return True
    return False


# --------------------------------------------------------------------------------------------
# The check
# --------------------------------------------------------------------------------------------


def _allowlist_match(host: str, addresses: Iterable[IPAddress], port: int) -> bool:
    from .models import EgressDestination

    addresses = list(addresses)
    for row in EgressDestination.objects.filter(port_min__lte=port, port_max__gte=port):
        network = row.network()
        if network is not None:
            if all(any(f.version == network.version and f in network for f in _forms(a)) for a in addresses):
                return True
        elif row.host == host:
            return True
    return False


def _getaddrinfo(host: str, port: int) -> list[IPAddress]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    seen: list[IPAddress] = []
    for info in infos:
        address = parse_address(str(info[4][0]))
        if address is not None and address not in seen:
            seen.append(address)
    return seen


def resolve_destination(
    host: str, port: int | str | None, *, purpose: str, database: str | None = None, field: str | None = "url"
) -> Destination:
    """The address to connect to for `host:port`, after the whole policy (see the module doc).
    `database` is the database name, for a database connection (the platform's own is refused).
    Raises EgressRefused (the same message for every cause)."""
    where = f"{host!r}:{port}"
    try:
        name = normalise_host(str(host or ""))
    except ValueError:
        raise refuse(purpose, f"主机格式不正确 {where}", field=field) from None
    try:
        number = int(str(port).strip()) if port not in (None, "") else 0
    except ValueError:
        number = 0
    if not (1 <= number <= 65535):
        raise refuse(purpose, f"端口不正确 {where}", field=field)
    literal = parse_address(name)
    if literal is not None:
        addresses = [literal]
    else:
        try:
            addresses = _getaddrinfo(name, number)
        except (OSError, UnicodeError) as exc:
            raise refuse(purpose, f"无法解析主机名 {name}：{exc}", field=field) from None
        if not addresses:
            raise refuse(purpose, f"主机名 {name} 没有地址", field=field)
    where = f"{name}:{number} ({', '.join(map(str, addresses))})"
    own = _own_database()
    local_ok = allowed_local()
    for address in addresses:
        if number in own_ports() and is_this_machine(address):
            raise refuse(purpose, f"平台自身的服务端口 {address}:{number}（{where}）", field=field)
        if own is not None and database is not None:
            own_addresses, own_port, own_names = own
            same_name = database in own_names or database.casefold() in {n.casefold() for n in own_names}
            if number == own_port and same_name and _same_server(address, own_addresses):
                raise refuse(purpose, f"平台自身的数据库 {address}:{number}/{database}（{where}）", field=field)
        if is_special(address) or is_this_machine(address):
            allowed = any(
                low <= number <= high and any(a == f for a in _forms(allowed_address) for f in _forms(address))
                for allowed_address, low, high in local_ok
            )
            if not allowed:
                raise refuse(purpose, f"本机、链路本地或保留地址 {address}:{number}（{where}）", field=field)
    if not _allowlist_match(name, addresses, number):
        raise refuse(purpose, f"不在出站白名单中 {where}", field=field)
    chosen = addresses[0]
    ip = str(chosen.ipv4_mapped) if isinstance(chosen, ipaddress.IPv6Address) and chosen.ipv4_mapped else str(chosen)
    return Destination(ip=ip, port=number, host=name)


def open_tcp(
    host: str, port: int | str, *, purpose: str, timeout: float = 10.0, field: str | None = "url"
) -> tuple[socket.socket, Destination]:
    """A TCP connection to a checked destination (by its address). Failures are EgressRefused."""
    destination = resolve_destination(host, port, purpose=purpose, field=field)
    try:
        sock = socket.create_connection((destination.ip, destination.port), timeout=timeout)
    except OSError as exc:
        raise refuse(purpose, f"连接 {destination.ip}:{destination.port} 失败：{exc}", field=field) from None
    return sock, destination


def describe(value: Any) -> str:
    """A one-line text of an exception for the log and the audit detail."""
    text = " ".join(str(value).split())
    return text[:1000]


# --------------------------------------------------------------------------------------------
# The allowlist (plain data functions; identity.services checks the permission and audits)
# --------------------------------------------------------------------------------------------

MIN_PREFIX = {4: 8, 6: 32}  # wider networks than these are refused: an allowlist of "everything" is none


def parse_allowlist_entry(host: str, ports: str) -> tuple[str, int, int]:
    """The stored form of an allowlist entry: (host name or network, low port, high port).
    DomainError naming the field ("host" or "ports") in Chinese."""
    text = (host or "").strip()
    if not text:
        raise DomainError("请填写主机或网段", "host")
    if "/" in text:
        address_text, _, prefix = text.partition("/")
        address = parse_address(address_text)
        if address is None or not prefix.isdigit():
            raise DomainError(f"主机或网段“{text}”不正确，网段应形如 10.12.0.0/16", "host")
        try:
            network: IPNetwork = ipaddress.ip_network(f"{address}/{int(prefix)}", strict=False)
        except ValueError:
            raise DomainError(f"主机或网段“{text}”的前缀长度不正确", "host") from None
        if network.prefixlen < MIN_PREFIX[network.version]:
            raise DomainError(
                f"网段“{text}”过大：IPv4 前缀至少 /{MIN_PREFIX[4]}，IPv6 至少 /{MIN_PREFIX[6]}", "host"
            )
        stored = str(network)
    else:
        try:
            stored = normalise_host(text)
        except ValueError:
            raise DomainError(f"主机或网段“{text}”不正确，应为主机名、IP 地址或网段", "host") from None
        address = parse_address(stored)
        if address is not None:
            stored = str(ipaddress.ip_network(address))
    try:
        low, high = parse_port_range(ports)
    except ValueError:
        raise DomainError(f"端口“{ports}”不正确，应为 1–65535 的端口或范围，如 5432 或 5432-5439", "ports") from None
    return stored, low, high


def list_destinations() -> list[Any]:
    from .models import EgressDestination

    return list(EgressDestination.objects.all())


def add_destination(host: str, ports: str, note: str = "", *, username: str = "") -> Any:
    """Add an allowlist row (the caller runs it in its transaction, with its audit record)."""
    from .models import EgressDestination

    stored, low, high = parse_allowlist_entry(host, ports)
    note = (note or "").strip()
    if len(note) > 200:
        raise DomainError("说明不能超过 200 个字符", "note")
    if EgressDestination.objects.filter(host=stored, port_min=low, port_max=high).exists():
        raise DomainError(f"白名单中已有 {stored} 端口 {ports.strip()}", "host")
    return EgressDestination.objects.create(
        host=stored, port_min=low, port_max=high, note=note, created_by_username=username[:150]
    )


def remove_destination(destination_id: int) -> Any:
    """Delete an allowlist row; returns the deleted row (its fields, for the audit record)."""
    from .errors import NotFound
    from .models import EgressDestination

    row = EgressDestination.objects.select_for_update().filter(pk=destination_id).first()
    if row is None:
        raise NotFound("白名单条目不存在", "destination")
    row.delete()
    return row


# --- one HTTP POST to a checked destination ------------------------------------------------------------


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to the checked IP address, with the registered host name for SNI and the certificate check."""

    def __init__(self, host: str, ip: str, port: int, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._ip = ip

    def connect(self) -> None:
        sock = socket.create_connection((self._ip, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


def http_post(url: str, destination: Destination, body: bytes, headers: dict[str, str], *, timeout: float) -> int:
    """POST `body` to `url` at the address `resolve_destination` chose (never the name again, so DNS
    cannot change between the check and the connection); the Host header and, for https, the TLS
    server name and certificate check use the URL's host. Returns the HTTP status; connection
    errors propagate (OSError, http.client.HTTPException) for the caller's own message."""
    parts = urlsplit(url)
    connection: http.client.HTTPConnection
    if parts.scheme == "https":
        connection = _PinnedHTTPSConnection(destination.host, destination.ip, destination.port, timeout)
    else:
        connection = http.client.HTTPConnection(destination.ip, destination.port, timeout=timeout)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        connection.request("POST", path, body=body, headers={"Host": parts.netloc.rsplit("@", 1)[-1], **headers})
        response = connection.getresponse()
        response.read(4096)
        return int(response.status)
    finally:
        connection.close()
