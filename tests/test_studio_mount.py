"""The studio mounted inside someone else's FastAPI app: served at its path, their routes intact, secrets kept."""

from __future__ import annotations

from pathlib import Path

import pytest
from fake_crew import crew
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tools.settings import Settings
from ui.app import mount_studio
from ui.session import Studio, studio_root, studio_secret


@pytest.fixture
def studio(tmp_path: Path, minilm) -> Studio:
    settings = Settings(projects_dir=tmp_path / "projects")
    return Studio(settings, crew(), minilm, studio_secret(studio_root(settings)))


def test_the_studio_mounts_in_a_fastapi_app(studio: Studio):
    app = FastAPI()

    @app.get("/health")
    def health() -> dict:
        return {"ok": True}

    mount_studio(app, studio, path="/studio")
    with TestClient(app) as client:
        assert client.get("/health").json() == {"ok": True}
        page = client.get("/studio/")
        assert page.status_code == 200 and "gradio" in page.text.lower()
        config = client.get("/studio/config").json()
        labels = {c.get("props", {}).get("label") for c in config["components"]}
        assert "Message to the crew" in labels
        secret = studio_root(studio.settings) / ".secret"
        assert secret.is_file()
        assert client.get(f"/studio/gradio_api/file={secret}").status_code >= 400, "the secret is never served"
