from __future__ import annotations

from typing import Any

from zhengwu.audit.models import AuditChainHead, AuditRecord
from zhengwu.audit.queries import verify_chain
from zhengwu.audit.services import GENESIS_HASH, compute_hash, record_event, record_values


def test_empty_chain_verifies(db: Any) -> None:
    result = verify_chain()
    assert result.ok
    assert result.checked == 0
    assert "没有审计记录" in result.message


def test_chain_grows_with_linked_sm3_hashes(make_user: Any) -> None:
    user = make_user("zhangsan", full_name="张三")
    first = record_event(
        user, "catalog.create", object_type="catalog_entry", object_id=7, details={"名称": "人口库"}
    )
    second = record_event(None, "system.start", result="success")
    third = record_event(
        None, "identity.login", result="failure", actor_username="ghost", source_ip="10.1.2.3"
    )

    assert [first.seq, second.seq, third.seq] == [1, 2, 3]
    assert first.prev_hash == GENESIS_HASH
    assert second.prev_hash == first.hash
    assert third.prev_hash == second.hash
    assert len(first.hash) == 64
    head = AuditChainHead.objects.get(id=1)
    assert (head.seq, head.hash) == (3, third.hash)

    stored = AuditRecord.objects.get(seq=1)
    assert stored.actor == "zhangsan"
    assert stored.actor_name == "张三"
    assert stored.actor_unit == user.unit.name
    assert stored.actor_unit_id == user.unit.pk
    assert stored.details == {"名称": "人口库"}
    assert compute_hash(record_values(stored)) == stored.hash
    assert AuditRecord.objects.get(seq=3).actor == "ghost"


def test_verify_passes_on_an_intact_chain(make_records: Any) -> None:
    make_records(25)
    result = verify_chain(batch_size=7)  # several batches
    assert result.ok, result.message
    assert result.checked == 25
    assert (result.start_seq, result.last_seq) == (1, 25)
    assert "审计链完整" in result.message
