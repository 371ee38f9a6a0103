"""Settings come from DIRECTOR_* variables and a TOML file, environment first."""

from __future__ import annotations

from pathlib import Path

from tools.settings import Settings


def test_defaults_serve_the_bundled_model_and_the_animatic(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    settings = Settings()
    assert settings.llm.base_url is None
    assert (settings.render.image_backend, settings.render.video_backend) == ("animatic", "animatic")
    assert settings.projects_dir == Path("projects")


def test_a_toml_file_and_the_environment_both_configure_and_the_environment_wins(monkeypatch, tmp_path):
    config = tmp_path / "studio.toml"
    config.write_text('target_seconds = 90\n[llm]\nbase_url = "http://127.0.0.1:11434/v1"\nmodel = "qwen"\n')
    monkeypatch.setenv("DIRECTOR_CONFIG", str(config))
    monkeypatch.setenv("DIRECTOR_LLM__MODEL", "llama3")
    monkeypatch.setenv("DIRECTOR_MAX_REVIEW_ROUNDS", "4")
    settings = Settings()
    assert settings.target_seconds == 90
    assert settings.llm.base_url == "http://127.0.0.1:11434/v1"
    assert settings.llm.model == "llama3"
    assert settings.max_review_rounds == 4
