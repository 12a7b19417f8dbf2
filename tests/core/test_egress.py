"""The egress policy (core/egress.py): address spellings, local and special addresses, the
platform's own database and ports, the allowlist, resolve-once (no DNS rebinding), one message."""

from __future__ import annotations

import re
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from zhengwu.core import egress
from zhengwu.core.egress import EgressRefused, normalise_host, resolve_destination
from zhengwu.core.errors import DomainError
from zhengwu.core.models import EgressDestination

pytestmark = pytest.mark.django_db

GENERIC = re.compile(r"^无法连接该数据源：目标不在允许范围内或暂时不可达（参考编号 [0-9a-f]{8}）$")

LOOPBACK_SPELLINGS = [
    "127.0.0.1", "2130706433", "0x7f000001", "0X7F000001", "0177.0.0.1", "0177.0000.0000.0001", "127.1",
    "127.0.1", "0x7f.1", "017700000001", "127.000.000.001", "127.0.0.1.", "[::ffff:127.0.0.1]", "::ffff:127.0.0.1",
    "::ffff:7f00:1", "127.255.255.254",
]  # fmt: skip


def allow(host: str, ports: str) -> None:
    stored, low, high = egress.parse_allowlist_entry(host, ports)
    EgressDestination.objects.create(host=stored, port_min=low, port_max=high)


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("2130706433", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("0x7f.0.0.1", "127.0.0.1"),
        ("017700000001", "127.0.0.1"),
        ("[::1]", "::1"),
        ("::1", "::1"),
        ("[0:0:0:0:0:0:0:1]", "::1"),
        ("::ffff:127.0.0.1", "::ffff:7f00:1"),
        ("[::FFFF:7F00:1]", "::ffff:7f00:1"),
        ("fe80::1%eth0", "fe80::1"),
        ("0", "0.0.0.0"),  # noqa: S104 - the spelling under test
        ("DB.GAJ.Example.GOV.CN.", "db.gaj.example.gov.cn"),
        ("db.example...", "db.example"),
        ("例子.测试", "xn--fsqu00a.xn--0zwm56d"),  # IANA's IDN test domain
        ("10.1.2.3", "10.1.2.3"),
        ("167838211", "10.1.2.3"),
    ],
)
def test_numeric_ipv6_and_name_spellings_are_normalised(text: str, canonical: str) -> None:
    assert normalise_host(text) == canonical


@pytest.mark.parametrize("text", ["", " ", "256.1.1.1", "1.2.3.4.5", "a..b", "host name", "h:1", "[::1", "-a.b", "a/b"])
def test_malformed_hosts_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        normalise_host(text)
    with pytest.raises(EgressRefused) as info:
        resolve_destination(text, 5432, purpose="datahub.source")
    assert GENERIC.match(info.value.message)


@pytest.mark.parametrize("spelling", LOOPBACK_SPELLINGS)
def test_every_loopback_spelling_is_refused_even_when_listed(spelling: str) -> None:
    allow("127.0.0.0/8", "5432")
    allow("::ffff:127.0.0.0/104", "5432")
    with pytest.raises(EgressRefused) as info:
        resolve_destination(spelling, 5432, purpose="datahub.source")
    assert GENERIC.match(info.value.message) and info.value.field == "url"
    assert "本机" in info.value.detail


@pytest.mark.parametrize("spelling", LOOPBACK_SPELLINGS[:-1])
def test_the_environment_allows_one_local_address_in_every_spelling(spelling: str, settings: Any) -> None:
    settings.EGRESS_ALLOW_LOCAL = ["127.0.0.1:5432"]
    allow("127.0.0.1", "5432")
    allow("::ffff:127.0.0.1/128", "5432")
    destination = resolve_destination(spelling, 5432, purpose="datahub.source")
    assert (destination.ip, destination.port) == ("127.0.0.1", 5432)
    with pytest.raises(EgressRefused):  # only that port
        resolve_destination(spelling, 5433, purpose="datahub.source")


def test_the_environment_alone_is_not_enough(settings: Any) -> None:
    settings.EGRESS_ALLOW_LOCAL = ["127.0.0.1:5432"]
    with pytest.raises(EgressRefused) as info:
        resolve_destination("127.0.0.1", 5432, purpose="datahub.source")
    assert "白名单" in info.value.detail


@pytest.mark.parametrize(
    ("host", "port"),
    [
        ("169.254.169.254", 80),  # cloud metadata
        ("169.254.0.1", 5432),
        ("fe80::1", 5432),
        ("[fe80::1%25eth0]", 5432),
        ("0.0.0.0", 5432),  # noqa: S104 - the address under test
        ("::", 5432),
        ("224.0.0.1", 5432),
        ("ff02::1", 5432),
        ("255.255.255.255", 5432),
        ("240.0.0.1", 5432),
        ("::1", 5432),
        ("::127.0.0.1", 5432),  # IPv4-compatible
        ("64:ff9b::7f00:1", 5432),  # NAT64 of 127.0.0.1
        ("2002:7f00:1::", 5432),  # 6to4 of 127.0.0.1
        ("2002:a9fe:a9fe::", 80),  # 6to4 of 169.254.169.254
    ],
)
def test_special_addresses_are_refused_whatever_the_allowlist_says(host: str, port: int) -> None:
    for network in ("0.0.0.0/8", "169.254.0.0/16", "224.0.0.0/8", "240.0.0.0/8", "255.0.0.0/8", "127.0.0.0/8"):
        allow(network, "1-65535")
    for network in ("::/32", "fe80::/32", "ff02::/32", "64:ff9b::/96", "2002::/32"):
        allow(network, "1-65535")
    with pytest.raises(EgressRefused) as info:
        resolve_destination(host, port, purpose="datahub.source")
    assert GENERIC.match(info.value.message)


def test_the_allowlist_decides_for_other_addresses() -> None:
    with pytest.raises(EgressRefused) as info:
        resolve_destination("10.1.2.3", 5432, purpose="datahub.source")
    assert "白名单" in info.value.detail
    allow("10.1.0.0/16", "5432-5433")
    assert resolve_destination("10.1.2.3", 5433, purpose="datahub.source").ip == "10.1.2.3"
    assert resolve_destination("167838211", 5432, purpose="datahub.source").ip == "10.1.2.3"
    for host, port in [("10.1.2.3", 5434), ("10.2.0.1", 5432), ("::ffff:10.2.0.1", 5432)]:
        with pytest.raises(EgressRefused):
            resolve_destination(host, port, purpose="datahub.source")
    for port in (0, 65536, "x", None):
        with pytest.raises(EgressRefused):
            resolve_destination("10.1.2.3", port, purpose="datahub.source")


class Resolver:
    """Stands in for the system resolver (not for any server): answers per call, counting calls."""

    def __init__(self, *answers: list[str]) -> None:
        self.answers = list(answers)
        self.calls: list[str] = []

    def __call__(self, host: str, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
        self.calls.append(host)
        answer = self.answers[min(len(self.calls), len(self.answers)) - 1]
        return [(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in answer]


def test_a_name_is_resolved_once_and_connected_by_that_address(monkeypatch: pytest.MonkeyPatch) -> None:
    allow("db.gaj.example.gov.cn", "5432")
    resolver = Resolver(["10.20.30.40"], ["127.0.0.1"])  # a rebinding name: public first, then loopback
    monkeypatch.setattr(egress.socket, "getaddrinfo", resolver)
    destination = resolve_destination("DB.gaj.example.gov.cn.", 5432, purpose="datahub.source")
    assert (destination.ip, destination.port, destination.host) == ("10.20.30.40", 5432, "db.gaj.example.gov.cn")
    assert resolver.calls == ["db.gaj.example.gov.cn"]


def test_every_resolved_address_is_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    allow("db.gaj.example.gov.cn", "5432")
    monkeypatch.setattr(egress.socket, "getaddrinfo", Resolver(["10.20.30.40", "127.0.0.1"]))
    with pytest.raises(EgressRefused) as info:
        resolve_destination("db.gaj.example.gov.cn", 5432, purpose="datahub.source")
    assert "127.0.0.1" in info.value.detail
    monkeypatch.setattr(egress.socket, "getaddrinfo", Resolver(["10.20.30.40", "::ffff:169.254.169.254"]))
    with pytest.raises(EgressRefused):
        resolve_destination("db.gaj.example.gov.cn", 5432, purpose="datahub.source")


def test_a_network_row_must_hold_every_resolved_address(monkeypatch: pytest.MonkeyPatch) -> None:
    allow("10.20.0.0/16", "5432")
    monkeypatch.setattr(egress.socket, "getaddrinfo", Resolver(["10.20.30.40", "10.99.0.1"]))
    with pytest.raises(EgressRefused):
        resolve_destination("db.example", 5432, purpose="datahub.source")
    monkeypatch.setattr(egress.socket, "getaddrinfo", Resolver(["10.20.30.40"]))
    assert resolve_destination("db.example", 5432, purpose="datahub.source").ip == "10.20.30.40"


def test_an_unknown_name_gives_the_same_message() -> None:
    allow("zw-no-such-host.invalid", "5432")
    with pytest.raises(EgressRefused) as info:
        resolve_destination("zw-no-such-host.invalid", 5432, purpose="datahub.source")
    assert GENERIC.match(info.value.message) and "无法解析" in info.value.detail


def test_the_platforms_own_ports_are_always_refused(settings: Any) -> None:
    settings.EGRESS_OWN_PORTS = [8000, 8001]
    settings.EGRESS_ALLOW_LOCAL = ["127.0.0.1:8000-8001", "[::1]:8000"]
    allow("127.0.0.0/8", "8000-8001")
    allow("::1", "8000")
    for host, port in [("127.0.0.1", 8000), ("localhost", 8000), ("127.1", 8001), ("[::1]", 8000), ("0x7f000001", 8000)]:
        with pytest.raises(EgressRefused) as info:
            resolve_destination(host, port, purpose="datahub.source")
        assert "平台自身的服务端口" in info.value.detail, host


def test_the_platforms_own_database_is_always_refused(settings: Any, platform_database: tuple[str, int]) -> None:
    name, port = platform_database
    settings.EGRESS_ALLOW_LOCAL = [f"127.0.0.1:{port}", f"[::1]:{port}"]
    allow("127.0.0.1", str(port))
    allow("::1", str(port))
    for host in ("127.0.0.1", "2130706433", "[::ffff:127.0.0.1]", "localhost"):
        with pytest.raises(EgressRefused) as info:
            resolve_destination(host, port, purpose="datahub.source", database=name)
        assert "平台自身的数据库" in info.value.detail, host
    # Another database on the same server is a different thing (when the deployment allows it).
    assert resolve_destination("127.0.0.1", port, purpose="datahub.source", database="zw_other").ip == "127.0.0.1"


def test_the_environment_setting_is_checked(settings: Any) -> None:
    from django.core.exceptions import ImproperlyConfigured

    settings.EGRESS_ALLOW_LOCAL = ["localhost"]
    with pytest.raises(ImproperlyConfigured) as info:
        resolve_destination("10.1.2.3", 5432, purpose="datahub.source")
    assert "ZHENGWU_EGRESS_ALLOW_LOCAL" in str(info.value)


@pytest.mark.parametrize(
    ("host", "ports", "field", "message"),
    [
        ("", "5432", "host", "请填写主机或网段"),
        ("db example", "5432", "host", "主机或网段“db example”不正确"),
        ("10.0.0.0/33", "5432", "host", "前缀长度不正确"),
        ("0.0.0.0/0", "5432", "host", "过大"),
        ("::/0", "5432", "host", "过大"),
        ("10.0.0.0/7", "5432", "host", "过大"),
        ("10.0.0.1", "", "ports", "端口“”不正确"),
        ("10.0.0.1", "0", "ports", "不正确"),
        ("10.0.0.1", "70000", "ports", "不正确"),
        ("10.0.0.1", "5433-5432", "ports", "不正确"),
        ("10.0.0.1", "http", "ports", "不正确"),
    ],
)
def test_allowlist_entries_are_checked_in_chinese(host: str, ports: str, field: str, message: str) -> None:
    with pytest.raises(DomainError) as info:
        egress.add_destination(host, ports)
    assert info.value.field == field and message in info.value.message


def test_allowlist_entries_are_stored_normalised() -> None:
    row = egress.add_destination("0x0a010203", "5432-5439", "公安人口库前置机", username="sec")
    assert (row.host, row.ports, row.note, row.created_by_username) == ("10.1.2.3/32", "5432-5439", "公安人口库前置机", "sec")
    assert egress.add_destination("10.12.1.1/16", "3306").host == "10.12.0.0/16"
    assert egress.add_destination("DB.Example.", "5432").host == "db.example"
    with pytest.raises(DomainError) as info:
        egress.add_destination("10.1.2.3", "5432-5439")
    assert info.value.field == "host" and "已有" in info.value.message


@pytest.fixture
def listener() -> Iterator[int]:
    """A throwaway TCP server on this machine (accepts, says nothing, closes)."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    port = server.getsockname()[1]
    stop = threading.Event()

    def serve() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield port
    finally:
        stop.set()
        thread.join(2)
        server.close()


def test_open_tcp_connects_to_the_checked_address_only(listener: int, settings: Any) -> None:
    with pytest.raises(EgressRefused):
        egress.open_tcp("127.0.0.1", listener, purpose="sharing.webhook")
    settings.EGRESS_ALLOW_LOCAL = [f"127.0.0.1:{listener}"]
    allow("127.0.0.1", str(listener))
    sock, destination = egress.open_tcp("0x7f000001", listener, purpose="sharing.webhook")
    try:
        assert sock.getpeername() == ("127.0.0.1", listener) and destination.ip == "127.0.0.1"
    finally:
        sock.close()
    settings.EGRESS_OWN_PORTS = [listener]
    with pytest.raises(EgressRefused) as info:
        egress.open_tcp("127.0.0.1", listener, purpose="sharing.webhook")
    assert info.value.message.startswith("无法连接该回调地址：目标不在允许范围内或暂时不可达")
