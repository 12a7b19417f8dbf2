"""公共数据开放: open data on the portal, a CKAN-compatible Action API and DCAT-AP."""
