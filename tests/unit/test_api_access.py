"""API keys and upload limits, through the real app (models are located but never loaded here)."""

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from tests.conftest import make_settings


@pytest.fixture()
def client(tmp_path):
    settings = make_settings(tmp_path / "data", api_keys=["s3cret", "other"], max_upload_bytes=1000,
                             startup_checks=False)  # access rules need no models
    with TestClient(create_app(settings)) as c:
        yield c


def test_health_needs_no_key(client):
    assert client.get("/health").status_code == 200


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"x-access-token": "nope"}])
def test_missing_or_wrong_key_is_401_in_error_shape(client, headers):
    r = client.get("/v1/files", headers=headers)
    assert r.status_code == 401
    assert r.json()["error"]["type"] == "authentication_error" and "s3cret" not in r.text


@pytest.mark.parametrize("headers", [{"Authorization": "Bearer s3cret"}, {"x-access-token": "other"}])
def test_valid_key_in_either_header(client, headers):
    assert client.get("/v1/files", headers=headers).status_code == 200


def test_upload_over_the_limit_is_413_and_leaves_nothing(client, tmp_path):
    r = client.post("/v1/files", headers={"Authorization": "Bearer s3cret"},
                    files={"file": ("big.mp4", b"x" * 5000, "video/mp4")})
    assert r.status_code == 413 and r.json()["error"]["param"] == "file"
    assert list((tmp_path / "data" / "files").iterdir()) == []


def test_chat_past_the_bound_is_503_with_retry_after(client):
    from engine.admission import ModelAccess

    svc = client.app.state.services
    coll = client.post("/v1/collections", json={"name": "c"}, headers={"Authorization": "Bearer s3cret"}).json()
    svc.model = ModelAccess(0, retry_after=7)
    r = client.post("/v1/chat/completions", headers={"Authorization": "Bearer s3cret"},
                    json={"model": "nimbus-001", "collections": [coll["id"]],
                          "messages": [{"role": "user", "content": "hi"}]})
    assert r.status_code == 503 and r.headers["Retry-After"] == "7"
    assert r.json()["error"]["type"] == "overloaded_error"


@pytest.mark.parametrize("extra, param", [
    ({"tools": [{"type": "function", "function": {"name": "f", "parameters": {}}}],
      "tool_choice": {"type": "function", "function": {"name": "other"}}}, "tool_choice"),
    ({"tool_choice": "required"}, "tool_choice"),
    ({"functions": [{"name": "f", "parameters": {}}]}, "functions"),
    ({"tools": [{"type": "function", "function": {"name": "bad name!", "parameters": {}}}]}, "tools[0].function.name"),
    ({"tools": [{"type": "function", "function": {"name": "f"}}], "response_format": {"type": "json_object"}},
     "response_format"),
])
def test_invalid_tool_requests_are_400_naming_the_field(client, extra, param):
    r = client.post("/v1/chat/completions", headers={"Authorization": "Bearer s3cret"},
                    json={"model": "nimbus-001", "messages": [{"role": "user", "content": "hi"}], **extra})
    assert r.status_code == 400 and r.json()["error"]["param"] == param, r.text


def test_key_cookie_opens_reads_only(client):
    """The web page's cookie lets <video>/<img> load; it must not authorise writes (CSRF)."""
    client.cookies.set("clipcite_key", "s3cret")
    try:
        assert client.get("/v1/files").status_code == 200
        r = client.post("/v1/collections", json={"name": "x"})
        assert r.status_code == 401
    finally:
        client.cookies.clear()


def test_web_page_is_served_without_a_key_and_holds_no_data(client):
    r = client.get("/", follow_redirects=False)
    assert r.status_code in (302, 307) and r.headers["location"] == "/ui/"
    page = client.get("/ui/")
    assert page.status_code == 200 and "<video id=\"player\"" in page.text
    js = client.get("/ui/app.js")
    assert js.status_code == 200 and "/v1/chat/completions" in js.text
    assert "http://" not in js.text and "https://" not in js.text  # no CDN: works air-gapped


def test_metrics_need_a_key_and_use_route_templates(client):
    auth = {"Authorization": "Bearer s3cret"}
    assert client.get("/metrics").status_code == 401
    client.get("/v1/files/abc123", headers=auth)  # 404, still timed
    text = client.get("/metrics", headers=auth).text
    assert 'clipcite_ingest_jobs{state="queued"} 0' in text
    assert "clipcite_segments_indexed 0" in text
    assert 'route="/v1/files/{file_id}",status="404"' in text
    assert "abc123" not in text
    bucket = [ln for ln in text.splitlines()
              if ln.startswith("clipcite_request_seconds_count") and "/v1/files/{file_id}" in ln]
    assert bucket and bucket[0].endswith(" 1")


def test_openapi_documents_every_route(client):
    """/docs is complete: summary, a success body, errors in the one shape, no phantom 422 validation docs.
    With keys set, the schema and the docs pages need a key like every /v1 route."""
    for page in ("/openapi.json", "/docs", "/redoc"):
        assert client.get(page).status_code == 401, page
        assert client.get(page, headers={"Authorization": "Bearer s3cret"}).status_code == 200, page
    spec = client.get("/openapi.json", headers={"Authorization": "Bearer s3cret"}).json()
    ops = [(p, m, op) for p, item in spec["paths"].items() for m, op in item.items()]
    assert len(ops) >= 30
    for path, method, op in ops:
        where = f"{method.upper()} {path}"
        assert op.get("summary"), where
        ok = op["responses"].get("200", {})
        assert ok.get("content"), f"{where}: no documented success body"
        if path.startswith("/v1/") or path == "/metrics":
            err = op["responses"].get("401", {}).get("content", {}).get("application/json", {})
            assert err.get("schema", {}).get("$ref", "").endswith("/ErrorResponse"), where
        if "{" in path:
            assert "404" in op["responses"], where
        if "requestBody" in op:
            assert "400" in op["responses"], where
        assert "HTTPValidationError" not in str(op["responses"].get("422", "")), where
    assert "HTTPValidationError" not in spec["components"]["schemas"]


def test_clients_are_told_apart_by_the_key_they_present_else_by_address():
    from starlette.requests import Request

    from api.deps import client_identity

    class App:
        class state:
            class services:
                class settings:
                    api_keys = ["key-one", "key-two"]

    def request(headers: dict[str, str], host: str = "10.0.0.5") -> Request:
        return Request({"type": "http", "client": (host, 40000), "app": App,
                        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()]})

    one = client_identity(request({"Authorization": "Bearer key-one"}))
    assert one == client_identity(request({"x-api-key": "key-one"}, host="10.0.0.9"))  # same key, any address
    assert one != client_identity(request({"Authorization": "Bearer key-two"}))
    assert "key-one" not in one  # the table of standings never holds a key
    assert client_identity(request({})) == "addr:10.0.0.5" != client_identity(request({}, host="10.0.0.9"))
    App.state.services.settings.api_keys = []  # a server without keys: a key proves nothing, the address counts
    assert client_identity(request({"Authorization": "Bearer key-one"})) == "addr:10.0.0.5"
