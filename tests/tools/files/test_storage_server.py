"""The loopback Storage server itself, over raw HTTP: it must refuse what Storage refuses."""

from __future__ import annotations

import httpx

from tests.storage_server import StorageServer

KEY = "k"
AUTH = {"authorization": f"Bearer {KEY}", "apikey": KEY}


def test_both_key_headers_are_required() -> None:
    with StorageServer(key=KEY) as storage, httpx.Client(base_url=storage.url) as client:
        url = "/storage/v1/object/materials/a.pdf"
        for headers in ({"authorization": f"Bearer {KEY}"}, {"apikey": KEY}, {}):
            answer = client.get(url, headers=headers)
            assert answer.status_code == 400
            assert answer.json()["statusCode"] == "403"
        missing = client.get(url, headers=AUTH)
        assert (missing.status_code, missing.json()) == (
            400,
            {"statusCode": "404", "error": "not_found", "message": "Object not found"},
        )


def test_upload_refuses_a_duplicate_without_upsert_and_remove_needs_prefixes() -> None:
    with StorageServer(key=KEY) as storage, httpx.Client(base_url=storage.url) as client:
        url = "/storage/v1/object/materials/dir/a.pdf"
        files = {"file": ("a.pdf", b"%PDF-1.4", "application/pdf")}
        first = client.post(url, headers=AUTH, files=files)
        assert first.json()["Key"] == "materials/dir/a.pdf"
        again = client.post(url, headers=AUTH, files=files)
        assert (again.status_code, again.json()["statusCode"]) == (400, "409")
        assert client.get(url, headers=AUTH).content == b"%PDF-1.4"
        empty = client.request("DELETE", "/storage/v1/object/materials", headers=AUTH, json={})
        assert empty.status_code == 400
        removed = client.request(
            "DELETE", "/storage/v1/object/materials", headers=AUTH, json={"prefixes": ["dir/a.pdf"]}
        )
        assert removed.json() == [{"name": "dir/a.pdf", "bucket_id": "materials"}]
        assert storage.objects == {}
