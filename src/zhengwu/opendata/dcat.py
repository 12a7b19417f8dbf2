"""DCAT-AP 3 descriptions of the open catalog, built with rdflib (as ckanext-dcat does for CKAN).

- `/catalog.{ttl,jsonld,rdf}`: the dcat:Catalog with a page of its datasets (hydra paging as
  ckanext-dcat: hydra:PagedCollection with totalItems, itemsPerPage, first/last/next/previous),
  the CKAN Action API as a dcat:DataService serving every dataset; `?modified_since=` for
  harvesters.
- `/dataset/<name>.{ttl,jsonld,rdf}`: one dcat:Dataset with its distributions (CSV, XLSX, JSON
  downloads, each also reachable through the DataService), publisher, licence, theme, frequency
  and contact point.

Controlled vocabularies are the EU Publications Office authority tables DCAT-AP recommends
(data-theme, frequency, file-type, language); each IRI used as a value is typed with the class
DCAT-AP's shapes expect (dct:LicenseDocument, skos:Concept, dct:Frequency, dct:MediaTypeOrExtent …),
so the SHACL class-range checks can see it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.urls import reverse
from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, RDF, RDFS, SKOS, XSD

from . import queries
from .ckan import FORMAT_INFO
from .queries import Dataset

VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
HYDRA = Namespace("http://www.w3.org/ns/hydra/core#")
ADMS = Namespace("http://www.w3.org/ns/adms#")
EU = "http://publications.europa.eu/resource/authority/"
THEME_SCHEME = URIRef(EU + "data-theme")
FORMATS = {"ttl": ("turtle", "text/turtle"), "jsonld": ("json-ld", "application/ld+json"),
           "rdf": ("xml", "application/rdf+xml")}
FREQUENCY = {
    "实时": "CONT", "每日": "DAILY", "每周": "WEEKLY", "每月": "MONTHLY", "每季度": "QUARTERLY",
    "每半年": "BIANNUAL", "每年": "ANNUAL", "不定时": "IRREG",
}
FILE_TYPES = {"CSV": "CSV", "XLSX": "XLSX", "JSON": "JSON"}
PAGE_SIZE = 100
LANG = "zh"


def _bind(graph: Graph) -> None:
    for prefix, ns in (("dcat", DCAT), ("dct", DCTERMS), ("foaf", FOAF), ("vcard", VCARD), ("skos", SKOS),
                       ("hydra", HYDRA), ("adms", ADMS), ("xsd", XSD)):
        graph.bind(prefix, ns)


def _when(value: datetime) -> Literal:
    return Literal(value.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z"), datatype=XSD.dateTime)


def _typed(graph: Graph, iri: URIRef, cls: URIRef, label: str | None = None) -> URIRef:
    graph.add((iri, RDF.type, cls))
    if label:
        graph.add((iri, RDFS.label, Literal(label, lang=LANG)))
    return iri


def dataset_uri(base: str, dataset: Dataset) -> URIRef:
    return URIRef(base + reverse("opendata:dataset", args=[dataset.name]))


def service_uri(base: str) -> URIRef:
    return URIRef(base + reverse("opendata:ckan_action", args=["package_list"]).rsplit("/", 1)[0] + "/")


def catalog_uri(base: str) -> URIRef:
    return URIRef(base + reverse("opendata:home"))


def _publisher(graph: Graph, base: str, unit: Any) -> URIRef:
    org = URIRef(base + reverse("opendata:search") + f"?organization={queries.organization_name(unit.pk)}")
    graph.add((org, RDF.type, FOAF.Agent))
    graph.add((org, RDF.type, FOAF.Organization))
    graph.add((org, FOAF.name, Literal(unit.name, lang=LANG)))
    return org


def _licence(graph: Graph, dataset: Dataset) -> URIRef:
    iri = URIRef(dataset.licence_url)
    _typed(graph, iri, DCTERMS.LicenseDocument, dataset.licence_title)
    return iri


def _data_service(graph: Graph, base: str, title: str, publisher: URIRef | None) -> URIRef:
    service = service_uri(base)
    graph.add((service, RDF.type, DCAT.DataService))
    graph.add((service, DCTERMS.title, Literal(f"{title} · CKAN Action API", lang=LANG)))
    graph.add((service, DCTERMS.description, Literal("CKAN 兼容的数据接口：package_search、package_show、datastore_search 等", lang=LANG)))
    graph.add((service, DCAT.endpointURL, URIRef(str(service))))
    graph.add((service, DCAT.endpointDescription, URIRef(base + reverse("opendata:api_help"))))
    if publisher is not None:
        graph.add((service, DCTERMS.publisher, publisher))
    return service


def add_dataset(graph: Graph, base: str, dataset: Dataset, service: URIRef | None) -> URIRef:
    node = dataset_uri(base, dataset)
    graph.add((node, RDF.type, DCAT.Dataset))
    graph.add((node, DCTERMS.title, Literal(dataset.title, lang=LANG)))
    graph.add((node, DCTERMS.description, Literal(dataset.abstract or dataset.title, lang=LANG)))
    graph.add((node, DCTERMS.identifier, Literal(dataset.resource_code)))
    graph.add((node, DCTERMS.issued, _when(dataset.metadata_created)))
    graph.add((node, DCTERMS.modified, _when(dataset.metadata_modified)))
    graph.add((node, DCAT.landingPage, _typed(graph, URIRef(str(node)), FOAF.Document)))
    publisher = _publisher(graph, base, dataset.provider)
    graph.add((node, DCTERMS.publisher, publisher))
    language = _typed(graph, URIRef(EU + "language/ZHO"), DCTERMS.LinguisticSystem, "中文")
    graph.add((node, DCTERMS.language, language))
    if dataset.theme is not None and dataset.theme.eu_theme:
        theme = _typed(graph, URIRef(f"{EU}data-theme/{dataset.theme.eu_theme}"), SKOS.Concept)
        graph.add((theme, SKOS.prefLabel, Literal(dataset.theme.name, lang=LANG)))
        graph.add((theme, SKOS.inScheme, THEME_SCHEME))
        graph.add((THEME_SCHEME, RDF.type, SKOS.ConceptScheme))
        graph.add((THEME_SCHEME, DCTERMS.title, Literal("Data theme", lang="en")))
        graph.add((node, DCAT.theme, theme))
    frequency = FREQUENCY.get(dataset.update_cycle)
    if frequency:
        graph.add((node, DCTERMS.accrualPeriodicity, _typed(graph, URIRef(f"{EU}frequency/{frequency}"), DCTERMS.Frequency, dataset.update_cycle)))
    for word in queries.dataset_tags(dataset):
        graph.add((node, DCAT.keyword, Literal(word, lang=LANG)))
    contact = BNode()
    graph.add((contact, RDF.type, VCARD.Organization))
    graph.add((contact, RDF.type, VCARD.Kind))
    graph.add((contact, VCARD.fn, Literal(dataset.provider.name, lang=LANG)))
    graph.add((contact, VCARD.hasURL, URIRef(base + reverse("portal:contact"))))
    graph.add((node, DCAT.contactPoint, contact))
    licence = _licence(graph, dataset)
    for fmt in dataset.formats:
        dist = URIRef(f"{node}#{fmt.lower()}")
        mimetype, _path, description = FORMAT_INFO[fmt]
        graph.add((dist, RDF.type, DCAT.Distribution))
        graph.add((dist, DCTERMS.title, Literal(f"{dataset.title}（{fmt}）", lang=LANG)))
        graph.add((dist, DCTERMS.description, Literal(description, lang=LANG)))
        download = URIRef(base + reverse("opendata:download", args=[dataset.name, fmt.lower()]))
        graph.add((dist, DCAT.accessURL, download))
        if not dataset.conditional:
            graph.add((dist, DCAT.downloadURL, download))
        graph.add((dist, DCTERMS.format, _typed(graph, URIRef(f"{EU}file-type/{FILE_TYPES[fmt]}"), DCTERMS.MediaTypeOrExtent)))
        graph.add((dist, DCAT.mediaType, _typed(graph, URIRef(f"https://www.iana.org/assignments/media-types/{mimetype}"), DCTERMS.MediaType)))
        graph.add((dist, DCTERMS.license, licence))
        graph.add((dist, DCTERMS.modified, _when(dataset.version.created_at)))
        if service is not None:
            graph.add((dist, DCAT.accessService, service))
        graph.add((node, DCAT.distribution, dist))
    if dataset.conditional:
        graph.add((node, DCTERMS.accessRights, _typed(graph, URIRef(f"{EU}access-right/RESTRICTED"), DCTERMS.RightsStatement)))
    else:
        graph.add((node, DCTERMS.accessRights, _typed(graph, URIRef(f"{EU}access-right/PUBLIC"), DCTERMS.RightsStatement)))
    if service is not None:
        graph.add((service, DCAT.servesDataset, node))
    return node


def _catalog(graph: Graph, base: str, title: str, operator: Any) -> tuple[URIRef, URIRef]:
    node = catalog_uri(base)
    graph.add((node, RDF.type, DCAT.Catalog))
    graph.add((node, DCTERMS.title, Literal(title, lang=LANG)))
    graph.add((node, DCTERMS.description, Literal(f"{title}：本市无条件开放和有条件开放的公共数据集", lang=LANG)))
    publisher = URIRef(base + reverse("portal:contact"))
    graph.add((publisher, RDF.type, FOAF.Agent))
    graph.add((publisher, FOAF.name, Literal(str(operator), lang=LANG)))
    graph.add((node, DCTERMS.publisher, publisher))
    graph.add((node, FOAF.homepage, _typed(graph, URIRef(str(node)), FOAF.Document)))
    graph.add((node, DCTERMS.language, _typed(graph, URIRef(EU + "language/ZHO"), DCTERMS.LinguisticSystem, "中文")))
    graph.add((node, DCAT.themeTaxonomy, THEME_SCHEME))
    graph.add((THEME_SCHEME, RDF.type, SKOS.ConceptScheme))
    graph.add((THEME_SCHEME, DCTERMS.title, Literal("Data theme", lang="en")))
    return node, publisher


def catalog_graph(
    base: str, datasets: list[Dataset], *, page: int, title: str, operator: Any, page_url: str,
    modified_since: datetime | None = None,
) -> Graph:
    if modified_since is not None:
        datasets = [d for d in datasets if d.metadata_modified >= modified_since]
    graph = Graph()
    _bind(graph)
    node, publisher = _catalog(graph, base, title, operator)
    service = _data_service(graph, base, title, publisher)
    graph.add((node, DCAT.service, service))
    total = len(datasets)
    last = max(1, -(-total // PAGE_SIZE))
    modified = [d.metadata_modified for d in datasets]
    if modified:
        graph.add((node, DCTERMS.modified, _when(max(modified))))
    for dataset in datasets[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]:
        graph.add((node, DCAT.dataset, add_dataset(graph, base, dataset, service)))
    paging = URIRef(f"{page_url}?page={page}")
    graph.add((paging, RDF.type, HYDRA.PagedCollection))
    graph.add((paging, HYDRA.totalItems, Literal(total, datatype=XSD.integer)))
    graph.add((paging, HYDRA.itemsPerPage, Literal(PAGE_SIZE, datatype=XSD.integer)))
    graph.add((paging, HYDRA.firstPage, Literal(f"{page_url}?page=1")))
    graph.add((paging, HYDRA.lastPage, Literal(f"{page_url}?page={last}")))
    if page < last:
        graph.add((paging, HYDRA.nextPage, Literal(f"{page_url}?page={page + 1}")))
    if page > 1:
        graph.add((paging, HYDRA.previousPage, Literal(f"{page_url}?page={page - 1}")))
    return graph


def dataset_graph(base: str, dataset: Dataset, *, title: str, operator: Any) -> Graph:
    graph = Graph()
    _bind(graph)
    node, publisher = _catalog(graph, base, title, operator)
    service = _data_service(graph, base, title, publisher)
    graph.add((node, DCAT.service, service))
    graph.add((node, DCAT.dataset, add_dataset(graph, base, dataset, service)))
    return graph


def serialise(graph: Graph, fmt: str) -> tuple[bytes, str]:
    name, content_type = FORMATS[fmt]
    text = graph.serialize(format=name)
    body = text.encode("utf-8") if isinstance(text, str) else bytes(text)
    return body, content_type
