"""/docs works offline: Swagger UI's page loads nothing from another host; its assets come from
the package, and its version reads the OpenAPI 3.1 document FastAPI writes."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from fastapi.testclient import TestClient

from fleetsync.api.app import DOCS_ASSETS


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls += [value for name, value in attrs if name in ("src", "href") and value]


def test_the_docs_page_loads_nothing_from_another_host(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    links = _Links()
    links.feed(page.text)
    assert links.urls, "the page names its script and style sheet"
    # Nothing from a CDN, in a tag or in the script that starts Swagger UI.
    assert not re.search(r"https?://", page.text), re.findall(r"https?://[^\s'\"]+", page.text)
    for url in links.urls:
        assert url.startswith(DOCS_ASSETS + "/"), url
        asset = client.get(url)
        assert asset.status_code == 200, url
        assert len(asset.content) > 1000, url
    assert "/openapi.json" in page.text


def test_the_bundled_swagger_ui_reads_openapi_3_1(client: TestClient) -> None:
    assert client.get("/openapi.json").json()["openapi"].startswith("3.1")
    script = client.get(f"{DOCS_ASSETS}/swagger-ui-bundle.js").text
    found = re.search(r'PACKAGE_VERSION:"(\d+)\.\d+\.\d+"', script)
    assert found is not None
    assert int(found[1]) >= 5  # Swagger UI reads OpenAPI 3.1 from version 5 on
