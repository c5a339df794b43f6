"""The API reference at /api/v1/docs in a real browser: Swagger UI, served by kgys itself from npm's
swagger-ui-dist, reads the OpenAPI 3.1 document and shows the operations, with no error box and no request
to another host."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Page, Request, expect
from tests.browser.conftest import DemoServer

from kgys.runtime import Runtime
from kgys.web import app as web_app

pytestmark = pytest.mark.browser


def test_the_api_reference_renders_every_tag_and_operation(page: Page, server: DemoServer) -> None:
    hosts: set[str] = set()
    failed: list[str] = []

    def seen(request: Request) -> None:
        hosts.add(urlsplit(request.url).netloc)

    page.on("request", seen)
    page.on("requestfailed", lambda r: failed.append(r.url))
    page.on("pageerror", lambda e: failed.append(str(e)))
    response = page.goto("/api/v1/docs")
    assert response is not None and response.status == 200

    sites = page.locator("#swagger-ui .opblock-tag[data-tag='sites']")
    expect(sites).to_be_visible()
    operation = page.locator("#swagger-ui .opblock-summary-path[data-path='/api/v1/sites']").first
    expect(operation).to_be_visible()
    summary = page.locator("#swagger-ui .opblock-summary-description").first
    expect(summary).not_to_be_empty()
    expect(page.locator("#swagger-ui .opblock-tag[data-tag='audit']")).to_be_visible()
    expect(page.locator("#swagger-ui .info .title")).to_contain_text("kgys")

    assert page.locator("#swagger-ui .errors-wrapper").count() == 0  # the parser's error box
    assert page.locator("#swagger-ui .version-pragma").count() == 0  # "Unable to render this definition"
    assert page.locator("#swagger-missing").count() == 0

    page.locator("#swagger-ui .opblock-summary-path[data-path='/api/v1/sites']").first.click()
    expect(page.locator("#swagger-ui .opblock.is-open .parameters-container")).to_be_visible()

    assert hosts == {urlsplit(server.url).netloc}, f"requests to other hosts: {hosts}"
    assert failed == []


def test_without_swagger_ui_the_page_says_how_to_install_it(rt: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(web_app, "swagger_ui_dir", lambda: None)
    with TestClient(web_app.create_app(rt), base_url="http://127.0.0.1") as client:
        r = client.get("/api/v1/docs")
        assert r.status_code == 503 and 'id="swagger-missing"' in r.text and "swagger-ui-bundle.js" not in r.text
        assert client.get("/static/vendor/swagger-ui/swagger-ui-bundle.js").status_code == 404
        assert client.get("/api/v1/openapi.json").status_code == 200
