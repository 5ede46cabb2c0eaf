"""What every client meets whatever it calls: the error body, health, the API's docs."""

from __future__ import annotations

import pytest

from tests.api.conftest import EVENT_FIELDS, VIEWER_FIELDS, bearer, error_fields, signup


@pytest.mark.parametrize("path", ["/api/xyz", "/api/events/1/nothing"])
async def test_unknown_paths_answer_the_error_shape(client, path):
    response = await client.get(path)
    assert response.status_code == 404
    assert set(response.json()) == {"message"}


@pytest.mark.parametrize(
    "content",
    [b'{"title": ', b"not json at all", b'["a", "list"]'],
)
async def test_malformed_json_body_is_400(client, content):
    token = await signup(client)
    response = await client.post(
        "/api/events",
        content=content,
        headers=bearer(token) | {"Content-Type": "application/json"},
    )
    assert error_fields(response) == {"body"}


async def test_health_reports_database_and_version(client):
    response = await client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["database"]) == ("healthy", "connected")
    assert body["uptime"] >= 0
    assert body["version"]


async def test_docs_page_is_served(client):
    response = await client.get("/api/docs")
    assert response.status_code == 200
    assert "text/html" in response.headers["content-type"]
    assert "/api/openapi.json" in response.text  # the page finds the document under the mount


async def test_openapi_documents_the_contract(client):
    response = await client.get("/api/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert {"/auth/register", "/events/{event_id}/register", "/users/me/stats"} <= set(
        document["paths"]
    )
    event = document["components"]["schemas"]["EventPublic"]
    assert set(event["properties"]) == EVENT_FIELDS | VIEWER_FIELDS
    statuses = {
        status
        for operations in document["paths"].values()
        for operation in operations.values()
        for status in operation["responses"]
    }
    assert "400" in statuses
    assert "422" not in statuses  # validation failures are answered with 400


async def test_the_docs_load_nothing_from_another_origin(client):
    page = await client.get("/api/docs")
    assert "cdn.jsdelivr.net" not in page.text and "https://" not in page.text
    csp = page.headers["content-security-policy"]
    assert "https:" not in csp and "cdn" not in csp
    for asset in ("/api/docs/assets/swagger-ui-bundle.js", "/api/docs/assets/swagger-ui.css"):
        assert asset in page.text
        assert (await client.get(asset)).status_code == 200
