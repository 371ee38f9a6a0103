"""Shot renders on a Ray cluster: a real head node started by the test, real actors, the real film loop."""

from __future__ import annotations

import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fake_crew import crew
from PIL import Image
from typer.testing import CliRunner

from agents.manifest import Manifest
from agents.run import new_run, run_film
from agents.specs import shot_spec
from agents.state import Film
from tools.edit.probe import probe_video
from tools.render.base import BackendError
from tools.render.executors import LocalExecutor
from tools.render.setup import RenderBackends
from tools.render.spec import CastMember, ShotSpec, SpokenLine
from tools.settings import Settings
from ui.cli import app

pytestmark = pytest.mark.slow

RAY = str(Path(sys.executable).parent / "ray")
WORKER = re.compile(r"^ray node [0-9a-f]{12} GPU 0$")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def processes_of_session(session: int) -> list[int]:
    """Every process whose session is `session`: the head and all it started, workers included."""
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == session and fields[0] != "Z":
            pids.append(int(stat.parent.name))
    return pids


@pytest.fixture(scope="module")
def ray_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A one-node Ray cluster with token authentication and one (logical) GPU, as `ray start --head` makes it."""
    folder = tmp_path_factory.mktemp("ray")
    token = folder / "auth_token"
    token.write_text(secrets.token_hex(32))
    auth = {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN_PATH": str(token)}
    saved = {key: os.environ.get(key) for key in auth}
    os.environ.update(auth)
    forget_ray_auth()
    port = free_port()
    log = folder / "head.log"
    command = [
        RAY, "start", "--head", "--block", "--disable-usage-stats", "--include-dashboard=false",
        f"--port={port}", "--node-ip-address=127.0.0.1", f"--ray-client-server-port={free_port()}",
        f"--dashboard-port={free_port()}", f"--dashboard-agent-listen-port={free_port()}",
        f"--dashboard-agent-grpc-port={free_port()}", f"--metrics-export-port={free_port()}",
        f"--runtime-env-agent-port={free_port()}",
        "--num-cpus=2", "--num-gpus=1", "--object-store-memory=200000000",
    ]  # fmt: skip
    with log.open("w") as output:
        head = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while "Ray runtime started" not in log.read_text():
            assert head.poll() is None, f"ray start failed:\n{log.read_text()[-3000:]}"
            assert time.monotonic() < deadline, f"ray start took over 120 s:\n{log.read_text()[-3000:]}"
            time.sleep(0.2)
        yield f"127.0.0.1:{port}"
    finally:
        head.send_signal(signal.SIGTERM)
        try:
            head.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        for pid in processes_of_session(head.pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        head.wait()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        forget_ray_auth()


def forget_ray_auth() -> None:
    """Make an imported Ray read its authentication settings again: it reads them once, when first used."""
    if "ray._raylet" in sys.modules:
        from ray._private.authentication_test_utils import reset_auth_token_state

        reset_auth_token_state()


def ray_settings(tmp_path: Path, address: str, **ray: object) -> Settings:
    return Settings(
        projects_dir=tmp_path / "projects",
        target_seconds=12,
        executor="ray",
        ray={"address": address, **ray},
    )


def test_a_film_renders_its_shots_on_the_ray_cluster(tmp_path, make_context, ray_cluster):
    settings = ray_settings(tmp_path, ray_cluster, num_gpus=0.5, renderers=2)
    project = new_run(settings, premise="A lighthouse keeper and a stray dog wait out the last storm")
    outcome = run_film(settings, project, context=make_context(crew(), project, settings))

    assert outcome.finished and outcome.review.passed
    film = Film.model_validate_json(project.film_file.read_text())
    takes = [take for shot in film.shots() for take in shot.takes]
    assert len(takes) >= 4
    for take in takes:
        assert WORKER.match(take.worker), f"{take.shot_id} rendered at {take.worker!r}, not on a Ray GPU renderer"
        for path in (take.keyframe, take.clip, take.audio):
            if path:
                assert (project.root / path).stat().st_size > 0
    assert any(take.audio for take in takes), "no spoken line came back from the cluster"
    assert len({take.worker for take in takes}) <= 2

    cut = probe_video(project.root / "cut" / "film.mp4")
    assert cut.codec == "h264" and cut.duration >= 10
    manifest = Manifest.model_validate_json((project.root / "manifest.json").read_text())
    assert all(WORKER.match(entry.worker or "") for entry in manifest.shots)
    stats = CliRunner().invoke(
        app, ["stats", project.film_id, "--projects-dir", str(settings.projects_dir)], env={"COLUMNS": "200"}
    )
    assert stats.exit_code == 0 and "where" in stats.output and "ray node" in stats.output, stats.output

    shot = film.shots()[0]
    remote = shot.takes[-1]
    local_backends = RenderBackends.from_settings(Settings(projects_dir=tmp_path / "projects", target_seconds=12))
    here = LocalExecutor(local_backends.images, local_backends.video, local_backends.speech).render(
        shot_spec(film, shot).resolved(project.root), tmp_path / "local"
    )
    assert here.image.path.read_bytes() == (project.root / remote.keyframe).read_bytes()
    assert probe_video(here.clip.path).num_frames == probe_video(project.root / remote.clip).num_frames


def test_a_renderer_asking_for_more_gpus_than_the_cluster_has_fails_before_the_film(tmp_path, ray_cluster):
    with pytest.raises(BackendError, match=r"has 1 GPUs and a renderer asks for 2.*DIRECTOR_RAY__NUM_GPUS=0"):
        RenderBackends.from_settings(ray_settings(tmp_path, ray_cluster, num_gpus=2))


def test_director_make_refuses_a_cluster_without_the_gpus_asked_for_and_leaves_no_run(tmp_path, ray_cluster):
    env = {
        **os.environ,
        "DIRECTOR_PROJECTS_DIR": str(tmp_path / "projects"),
        "DIRECTOR_EXECUTOR": "ray",
        "DIRECTOR_RAY__ADDRESS": ray_cluster,
        "DIRECTOR_RAY__NUM_GPUS": "4",
    }
    director = str(Path(sys.executable).parent / "director")
    made = subprocess.run(
        [director, "make", "A keeper and a dog wait out a storm"], env=env, capture_output=True, text=True, timeout=120
    )
    assert made.returncode == 2, made.stderr
    assert "has 1 GPUs and a renderer asks for 4" in " ".join(made.stderr.split())
    assert not (tmp_path / "projects").exists() or not any((tmp_path / "projects").iterdir())


def test_renderers_that_cannot_all_be_placed_fail_within_the_connect_timeout(tmp_path, ray_cluster):
    settings = ray_settings(tmp_path, ray_cluster, num_gpus=1, renderers=2, connect_timeout=3)
    started = time.monotonic()
    with pytest.raises(BackendError, match=r"2 renderers asking 1 GPU .* did not all start .* within 3 s"):
        RenderBackends.from_settings(settings)
    assert time.monotonic() - started < 60
    backends = RenderBackends.from_settings(ray_settings(tmp_path, ray_cluster, num_gpus=1, renderers=1))
    backends.close()


def test_a_backend_error_on_a_renderer_comes_back_as_itself(tmp_path, ray_cluster):
    backends = RenderBackends.from_settings(ray_settings(tmp_path, ray_cluster, num_gpus=0, renderers=1))
    try:
        spec = ShotSpec(
            shot_id="s01-01", scene_number=1, shot_number=1, prompt="Mara at the window", width=320, height=180,
            seed=3, fps=12, duration=2.0, line=SpokenLine(character_id="mara", speaker="Mara", text="  "),
        )  # fmt: skip
        with pytest.raises(BackendError, match="nothing to speak") as caught:
            backends.executor.render(spec, tmp_path / "take")
        assert type(caught.value) is BackendError, "the renderer's exception is unwrapped from Ray's"
    finally:
        backends.close()


def test_without_ray_installed_the_ray_executor_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)
    monkeypatch.delitem(sys.modules, "tools.render.ray_executor", raising=False)
    with pytest.raises(BackendError, match=r"pip install 'agent-director\[ray\]'"):
        RenderBackends.from_settings(ray_settings(tmp_path, "127.0.0.1:1"))


def test_a_shot_travels_with_its_pictures_and_comes_back_with_its_files(tmp_path):
    from tools.render.ray_executor import RenderedFiles, ShotPayload

    face, street = tmp_path / "project" / "face.png", tmp_path / "project" / "street.jpg"
    face.parent.mkdir()
    Image.new("RGB", (8, 8), "red").save(face)
    Image.new("RGB", (8, 8), "blue").save(street)
    spec = ShotSpec(
        shot_id="s01-01", scene_number=1, shot_number=1, prompt="Mara at the window", width=320, height=180,
        seed=3, fps=12, duration=2.0,
        cast=[CastMember(id="mara", name="Mara", look="red coat", color="#aa2233", reference_images=[str(face)])],
        setting_references=[str(street)], init_image=str(face),
    )  # fmt: skip
    payload = ShotPayload.pack(spec)
    assert sorted(payload.pictures) == ["picture-0.png", "picture-1.jpg"]
    assert str(tmp_path) not in payload.spec.model_dump_json()

    node = tmp_path / "node"
    there = payload.unpack(node / "pictures")
    assert Path(there.init_image).read_bytes() == face.read_bytes()
    assert Path(there.setting_references[0]).read_bytes() == street.read_bytes()
    assert there.cast[0].reference_images == [there.init_image], "one picture used twice travels once"
    back_home = {"cast": spec.cast, "setting_references": [str(street)], "init_image": str(face)}
    assert there.model_copy(update=back_home) == spec

    settings = Settings(projects_dir=tmp_path, render={"speech_backend": "none"})
    backends = RenderBackends.from_settings(settings)
    (node / "take").mkdir()
    rendered = LocalExecutor(backends.images, backends.video, None).render(there, node / "take")
    packed = RenderedFiles.pack(rendered, node / "take", worker="ray node 0123456789ab")
    back = packed.unpack(tmp_path / "takes" / "abc")
    assert back.worker == "ray node 0123456789ab"
    assert back.image.path == tmp_path / "takes" / "abc" / "keyframe.png"
    assert back.image.path.read_bytes() == rendered.image.path.read_bytes()
    assert probe_video(back.clip.path).num_frames == spec.num_frames
    assert back.clip.audio is None
    assert sorted(path.name for path in (tmp_path / "takes" / "abc").iterdir()) == ["clip.mp4", "keyframe.png"]

    sound = node / "take" / "clip.wav"
    sound.write_bytes(b"RIFF the clip's own sound")
    with_sound = rendered.model_copy(update={"clip": rendered.clip.model_copy(update={"audio": sound})})
    packed = RenderedFiles.pack(with_sound, node / "take", worker="ray node 0123456789ab")
    heard = packed.unpack(tmp_path / "takes" / "d")
    assert heard.clip.audio == tmp_path / "takes" / "d" / "clip.wav", "the clip's sound points into the take here"
    assert heard.clip.audio.read_bytes() == sound.read_bytes()
    assert heard.clip.path == tmp_path / "takes" / "d" / "clip.mp4"
