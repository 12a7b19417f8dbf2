"""Reads: the tree in one query, descendants, staff scoping."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from zhengwu.core.errors import PermissionDenied
from zhengwu.directory import queries

pytestmark = pytest.mark.django_db


def test_unit_tree_is_one_query(tree, clerk):
    with CaptureQueriesContext(connection) as ctx:
        roots = queries.unit_tree()
        nodes = [n for r in roots for n in r.walk()]
        names = [n.unit.parent.name for n in nodes if n.unit.parent_id]
    assert len(ctx.captured_queries) == 1
    assert len(nodes) == 5 and "梅江区人民政府" in names
    county = next(n for n in nodes if n.unit == tree.county_dept)
    assert county.staff_count == 1 and county.depth == 2 and county.division_name == "梅江区"


def test_descendants(tree):
    ids = queries.descendant_ids(tree.county_gov)
    assert ids == {tree.county_gov.pk, tree.county_dept.pk, tree.township.pk}
    assert set(queries.descendants(tree.government)) == {
        tree.department,
        tree.county_gov,
        tree.county_dept,
        tree.township,
    }


def test_staff_scope(tree, sysadmin, clerk, make_user):
    other = make_user(unit=tree.department)
    assert set(queries.staff_for(sysadmin)) >= {clerk, other}
    assert set(queries.staff_for(clerk)) == {clerk}
    assert queries.sees_contact_details(sysadmin) and not queries.sees_contact_details(clerk)


def test_anonymous_refused():
    from django.contrib.auth.models import AnonymousUser

    with pytest.raises(PermissionDenied):
        queries.staff_for(AnonymousUser())
