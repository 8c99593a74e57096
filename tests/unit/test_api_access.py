"""API keys and upload limits, through the real app (models are located but never loaded here)."""

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from tests.conftest import make_settings


@pytest.fixture()
def client(tmp_path):
    settings = make_settings(tmp_path / "data", api_keys=["s3cret", "other"], max_upload_bytes=1000)
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
    from engine.admission import AdmissionGate

    svc = client.app.state.services
    coll = client.post("/v1/collections", json={"name": "c"}, headers={"Authorization": "Bearer s3cret"}).json()
    svc.chat_gate = AdmissionGate(0, retry_after=7)
    r = client.post("/v1/chat/completions", headers={"Authorization": "Bearer s3cret"},
                    json={"model": "nimbus-001", "collections": [coll["id"]], "messages": [{"role": "user", "content": "hi"}]})
    assert r.status_code == 503 and r.headers["Retry-After"] == "7"
    assert r.json()["error"]["type"] == "overloaded_error"


def test_unsupported_tools_are_refused_clearly(client):
    r = client.post("/v1/chat/completions", headers={"Authorization": "Bearer s3cret"},
                    json={"model": "nimbus-001", "messages": [{"role": "user", "content": "hi"}],
                          "tools": [{"type": "function", "function": {"name": "f", "parameters": {}}}]})
    assert r.status_code == 400 and r.json()["error"]["param"] == "tools"
