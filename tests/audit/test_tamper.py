"""Direct database tampering (raw SQL, triggers disabled) is detected and the record named."""

from __future__ import annotations

from typing import Any

import pytest

from zhengwu.audit import signing
from zhengwu.audit.models import AuditChainHead, AuditCheckpoint, AuditRecord
from zhengwu.audit.queries import verify_chain
from zhengwu.audit.services import do_create_checkpoint
from zhengwu.core.crypto import sm2_generate_private_key_pem

from .conftest import (
    disable_guards,
    forged_values,
    raw_delete,
    raw_insert,
    raw_set_hashes,
    raw_update_details,
    rewrite_chain_from,
)


@pytest.fixture
def chain(make_records: Any) -> list[AuditRecord]:
    records = make_records(8)
    assert verify_chain().ok
    disable_guards()
    return records


def test_edit_of_a_middle_row_is_detected(chain: list[AuditRecord]) -> None:
    raw_update_details(4, {"i": 999})
    result = verify_chain()
    assert not result.ok
    assert result.problem is not None
    assert (result.problem.seq, result.problem.kind) == (4, "altered")
    assert result.problem.message == "记录 #4 的内容被篡改（哈希不符）"
    assert result.checked == 3


def test_edit_with_recomputed_hash_is_detected_at_the_edited_row(chain: list[AuditRecord]) -> None:
    raw_update_details(4, {"i": 999})
    rec = AuditRecord.objects.get(seq=4)
    from zhengwu.audit.services import compute_hash, record_values

    raw_set_hashes(4, rec.prev_hash, compute_hash(record_values(rec)))
    result = verify_chain()
    assert result.problem is not None
    assert (result.problem.seq, result.problem.kind) == (4, "altered")
    assert "记录 #4 的内容被篡改" in result.problem.message
    assert "重新计算" in result.problem.message


def test_edit_of_the_last_row_with_recomputed_hash_is_detected_by_the_head(chain: list[AuditRecord]) -> None:
    raw_update_details(8, {"i": 999})
    rec = AuditRecord.objects.get(seq=8)
    from zhengwu.audit.services import compute_hash, record_values

    raw_set_hashes(8, rec.prev_hash, compute_hash(record_values(rec)))
    result = verify_chain()
    assert result.problem is not None
    assert (result.problem.seq, result.problem.kind) == (8, "altered")
    assert "链头" in result.problem.message


def test_delete_of_a_middle_row_is_detected(chain: list[AuditRecord]) -> None:
    raw_delete(5)
    result = verify_chain()
    assert result.problem is not None
    assert (result.problem.seq, result.problem.kind) == (5, "removed")
    assert result.problem.message == "记录 #6 之前缺少记录 #5（已被删除）"


def test_delete_of_several_rows_names_the_range(chain: list[AuditRecord]) -> None:
    raw_delete(3)
    raw_delete(4)
    result = verify_chain()
    assert result.problem is not None
    assert result.problem.kind == "removed"
    assert result.problem.message == "记录 #5 之前缺少记录 #3 至 #4（已被删除）"


def test_delete_of_the_first_row_is_detected(chain: list[AuditRecord]) -> None:
    raw_delete(1)
    result = verify_chain()
    assert result.problem is not None
    assert (result.problem.seq, result.problem.kind) == (1, "removed")
    assert "记录 #2 之前缺少记录 #1" in result.problem.message


def test_delete_of_the_tail_is_detected_by_the_head(chain: list[AuditRecord]) -> None:
    raw_delete(8)
    raw_delete(7)
    result = verify_chain()
    assert result.problem is not None
    assert (result.problem.seq, result.problem.kind) == (7, "removed")
    assert "链尾缺少记录 #7 至 #8" in result.problem.message


@pytest.mark.parametrize("recompute", [False, True], ids=["bogus-hash", "recomputed-hash"])
def test_forged_row_after_the_head_is_detected(chain: list[AuditRecord], recompute: bool) -> None:
    raw_insert(forged_values(9, chain[-1].hash, recompute=recompute))
    result = verify_chain()
    assert result.problem is not None
    assert (result.problem.seq, result.problem.kind) == (9, "inserted")
    assert "记录 #9 不在审计链上" in result.problem.message
    assert "被插入" in result.problem.message


@pytest.mark.parametrize("recompute", [False, True], ids=["bogus-hash", "recomputed-hash"])
def test_forged_row_far_beyond_the_head_is_detected(chain: list[AuditRecord], recompute: bool) -> None:
    raw_insert(forged_values(1000, chain[-1].hash, recompute=recompute))
    result = verify_chain()
    assert result.problem is not None
    assert (result.problem.seq, result.problem.kind) == (1000, "inserted")


@pytest.mark.parametrize("recompute", [False, True], ids=["bogus-hash", "recomputed-hash"])
def test_forged_row_before_the_start_of_the_chain_is_detected(
    chain: list[AuditRecord], recompute: bool
) -> None:
    raw_insert(forged_values(0, "0" * 64, recompute=recompute))
    result = verify_chain()
    assert result.problem is not None
    assert (result.problem.seq, result.problem.kind) == (0, "inserted")
    assert result.problem.message.startswith("记录 #0 不在审计链上")


def test_replaced_row_with_recomputed_hash_is_detected(chain: list[AuditRecord]) -> None:
    # Delete #4 and put a forged #4 in its place, correctly linked to #3 and correctly hashed.
    raw_delete(4)
    raw_insert(forged_values(4, chain[2].hash, recompute=True))
    result = verify_chain()
    assert result.problem is not None
    assert (result.problem.seq, result.problem.kind) == (4, "altered")
    assert "记录 #5 记载的前一记录哈希不符" in result.problem.message


def test_forged_row_with_the_head_moved_is_detected_as_altered_when_hash_is_bogus(
    chain: list[AuditRecord],
) -> None:
    raw_insert(forged_values(9, chain[-1].hash, recompute=False))
    AuditChainHead.objects.filter(id=1).update(seq=9, hash="f" * 64)
    result = verify_chain()
    assert result.problem is not None
    assert (result.problem.seq, result.problem.kind) == (9, "altered")


def test_wholesale_rewrite_fails_on_the_signed_checkpoint(make_records: Any) -> None:
    make_records(6)
    checkpoint = do_create_checkpoint(None)  # signs #6; its own audit record is #7
    assert checkpoint.seq == 6
    make_records(3)
    assert verify_chain().ok
    disable_guards()
    raw_update_details(3, {"i": "改写"})
    rewrite_chain_from(3)  # every later hash and the chain head recomputed: the chain links again
    result = verify_chain()
    assert not result.ok
    assert result.problem is not None
    assert (result.problem.seq, result.problem.kind) == (6, "checkpoint")
    assert "记录 #6 的哈希与" in result.problem.message
    assert "被整体改写" in result.problem.message


def test_rewrite_after_the_last_checkpoint_is_not_caught_by_it(make_records: Any) -> None:
    # The database chain alone cannot see this (records after the newest checkpoint); the
    # external copy does — see test_attacks_after_checkpoint.py.
    make_records(3)
    do_create_checkpoint(None)
    make_records(3)
    disable_guards()
    raw_update_details(6, {"i": "改写"})
    rewrite_chain_from(6)
    assert verify_chain().ok


def test_tampered_checkpoint_is_detected(make_records: Any) -> None:
    make_records(4)
    checkpoint = do_create_checkpoint(None)
    disable_guards()
    AuditCheckpoint.objects.filter(pk=checkpoint.pk).update(hash="0" * 64)
    result = verify_chain()
    assert result.problem is not None
    assert (result.problem.seq, result.problem.kind) == (4, "checkpoint")
    assert "签名无效" in result.problem.message


def test_checkpoint_signed_with_a_foreign_key_is_detected(make_records: Any) -> None:
    records = make_records(4)
    foreign = sm2_generate_private_key_pem()
    from django.utils import timezone

    from zhengwu.core.crypto import sm2_public_key_pem, sm2_sign

    public = sm2_public_key_pem(foreign).decode()
    created = timezone.now()
    message = signing.checkpoint_message(
        seq=4,
        hash=records[-1].hash,
        kind="purge",
        created_at=created,
        purged_before=None,
        purged_count=4,
        public_key=public,
    )
    signing.public_key_pem(create=True)  # the platform key exists
    AuditCheckpoint.objects.create(
        seq=4,
        hash=records[-1].hash,
        kind="purge",
        created_at=created,
        purged_count=4,
        signature=sm2_sign(foreign, message).hex(),
        public_key=public,
    )
    result = verify_chain()
    assert result.problem is not None
    assert result.problem.kind == "checkpoint"
    assert "不是用本平台的审计签名密钥签署的" in result.problem.message


def test_missing_signing_key_is_reported_when_checkpoints_exist(
    make_records: Any, signing_key_file: Any
) -> None:
    make_records(2)
    do_create_checkpoint(None)
    signing_key_file.unlink()
    result = verify_chain()
    assert result.problem is not None
    assert result.problem.kind == "checkpoint"
    assert "不存在" in result.problem.message
    assert not signing_key_file.exists()  # verification never creates a key


def test_deleted_head_row_is_detected(chain: list[AuditRecord]) -> None:
    AuditChainHead.objects.all().delete()
    result = verify_chain()
    assert result.problem is not None
    assert result.problem.kind == "removed"
    assert "链头" in result.problem.message
