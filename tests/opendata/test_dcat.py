"""DCAT-AP 3 output, validated with pySHACL against the official DCAT-AP 3.0.0 shapes."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from rdflib import Graph, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, RDF

from zhengwu.opendata import queries

pytestmark = pytest.mark.django_db

SH = Namespace("http://www.w3.org/ns/shacl#")
HYDRA = Namespace("http://www.w3.org/ns/hydra/core#")
SHAPES = Path(__file__).resolve().parents[2].parent / "shared" / "reference" / "dcat-ap-3.0.0-SHACL.ttl"
# Findings that would make the description non-conformant to DCAT-AP (mandatory, cardinality,
# datatype, node kind): none may remain.
HARD = {SH.MinCountConstraintComponent, SH.MaxCountConstraintComponent, SH.DatatypeConstraintComponent,
        SH.NodeKindConstraintComponent}


def shapes() -> Graph:
    if not SHAPES.exists():
        pytest.skip(f"DCAT-AP 3.0.0 shapes not found at {SHAPES} (the shared reference folder beside the project)")
    return Graph().parse(SHAPES, format="turtle")


def validate(data: Graph) -> Counter[Any]:
    import pyshacl

    _conforms, report, _text = pyshacl.validate(data, shacl_graph=shapes(), inference="none", advanced=True)
    findings: Counter[Any] = Counter()
    for result in report.subjects(RDF.type, SH.ValidationResult):
        component = report.value(result, SH.sourceConstraintComponent)
        findings[(component, report.value(result, SH.resultPath), report.value(result, SH.resultSeverity))] += 1
    return findings


@pytest.fixture
def datasets(open_dataset: Any, themes: None) -> list[Any]:
    return [open_dataset(), open_dataset(name="公共信用信息", open_type="有条件开放", category="1", class_item="04", cycle="每日")]


@pytest.mark.parametrize("fmt, parser", [("ttl", "turtle"), ("jsonld", "json-ld"), ("rdf", "xml")])
def test_catalog_in_three_formats_passes_the_shapes(client: Any, datasets: list[Any], fmt: str, parser: str) -> None:
    response = client.get(f"/catalog.{fmt}")
    assert response.status_code == 200
    graph = Graph().parse(data=response.content, format=parser)
    catalogs = list(graph.subjects(RDF.type, DCAT.Catalog))
    assert len(catalogs) == 1
    assert len(list(graph.objects(catalogs[0], DCAT.dataset))) == 2
    assert len(list(graph.subjects(RDF.type, DCAT.Distribution))) == 6
    service = next(graph.subjects(RDF.type, DCAT.DataService))
    assert len(list(graph.objects(service, DCAT.servesDataset))) == 2
    paging = next(graph.subjects(RDF.type, HYDRA.PagedCollection))
    assert int(graph.value(paging, HYDRA.totalItems)) == 2
    hard = {k: n for k, n in validate(graph).items() if k[0] in HARD}
    assert hard == {}


def test_dataset_description(client: Any, datasets: list[Any]) -> None:
    entry = datasets[1]
    name = queries.dataset_name(entry.resource_code)
    response = client.get(f"/dataset/{name}.ttl")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/turtle")
    graph = Graph().parse(data=response.content, format="turtle")
    node = next(graph.subjects(RDF.type, DCAT.Dataset))
    assert str(graph.value(node, DCTERMS.title)) == "公共信用信息"
    assert graph.value(node, DCTERMS.accrualPeriodicity) == URIRef("http://publications.europa.eu/resource/authority/frequency/DAILY")
    assert graph.value(node, DCAT.theme) == URIRef("http://publications.europa.eu/resource/authority/data-theme/ECON")
    assert graph.value(node, DCTERMS.accessRights) == URIRef("http://publications.europa.eu/resource/authority/access-right/RESTRICTED")
    assert graph.value(node, DCTERMS.publisher) is not None and graph.value(node, DCAT.contactPoint) is not None
    # a conditional dataset has access URLs but no public download URL
    assert not list(graph.objects(None, DCAT.downloadURL))
    assert {k: n for k, n in validate(graph).items() if k[0] in HARD} == {}
    assert client.get("/dataset/nothing.ttl").status_code == 404


def test_paging_and_modified_since(client: Any, datasets: list[Any]) -> None:
    graph = Graph().parse(data=client.get("/catalog.ttl?modified_since=2999-01-01T00:00:00Z").content, format="turtle")
    assert not list(graph.subjects(RDF.type, DCAT.Dataset))
    assert client.get("/catalog.ttl?page=0").status_code == 400
    assert client.get("/catalog.ttl?modified_since=yesterday").status_code == 400
    empty = Graph().parse(data=client.get("/catalog.ttl?page=2").content, format="turtle")
    assert not list(empty.subjects(RDF.type, DCAT.Dataset))


def test_findings_listed_in_docs(client: Any, datasets: list[Any]) -> None:
    """Whatever the shapes still report (class-range findings) is named in docs/opendata.md."""
    graph = Graph().parse(data=client.get("/catalog.ttl").content, format="turtle")
    findings = validate(graph)
    docs = (Path(__file__).resolve().parents[2] / "docs" / "opendata.md").read_text(encoding="utf-8")
    for component, path, _severity in findings:
        name = str(component).rsplit("#", 1)[-1]
        assert name in docs and str(path) in docs, (name, path)
