"""Shot renders on a Ray cluster: `DIRECTOR_EXECUTOR=ray`, the `ray` extra.

Each renderer is a Ray actor that builds the backends once from the run's settings, so a loaded pipeline
serves every shot sent to it, and asks the cluster for `ray.num_gpus` GPUs and `ray.num_cpus` cores. The nodes
need not share a disk with this machine: a shot's reference pictures travel with it, and the keyframe, the
clip (with the sound the video model made beside it, if any) and the line come back as bytes into the take
folder here. The nodes need Director and the models installed (or a `runtime_env` that installs them).
"""

from __future__ import annotations

import queue
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import ray
from pydantic import BaseModel, ConfigDict
from ray.exceptions import GetTimeoutError, RayActorError, RayTaskError

from tools.files import write_atomic
from tools.render.base import BackendError
from tools.render.executors import RenderedShot, render_with
from tools.render.registry import BACKENDS, BackendRegistry
from tools.render.spec import ShotSpec
from tools.settings import Settings


class ShotPayload(BaseModel):
    """A spec whose pictures are named, not located, with those pictures' bytes: it renders on any node."""

    model_config = ConfigDict(frozen=True)

    spec: ShotSpec
    pictures: dict[str, bytes]

    @classmethod
    def pack(cls, spec: ShotSpec) -> ShotPayload:
        """Read every picture `spec` refers to (absolute paths) and rename it `picture-N.ext`."""
        names: dict[str, str] = {}

        def named(path: str) -> str:
            if not path:
                return path
            return names.setdefault(path, f"picture-{len(names)}{Path(path).suffix}")

        portable = spec.with_paths(named)
        return cls(spec=portable, pictures={name: Path(path).read_bytes() for path, name in names.items()})

    def unpack(self, folder: Path) -> ShotSpec:
        """Write the pictures into `folder` and return the spec pointing at them."""
        folder.mkdir(parents=True, exist_ok=True)
        for name, data in self.pictures.items():
            (folder / name).write_bytes(data)
        return self.spec.with_paths(lambda name: str(folder / name) if name else name)


class RenderedFiles(BaseModel):
    """A render's results with paths relative to its take folder, and the files' bytes."""

    model_config = ConfigDict(frozen=True)

    rendered: RenderedShot
    files: dict[str, bytes]

    @classmethod
    def pack(cls, rendered: RenderedShot, folder: Path, worker: str) -> RenderedFiles:
        """Read the keyframe, clip, the clip's own sound and the line, and name each by its file name alone."""
        files = {path.name: path.read_bytes() for path in result_files(rendered)}
        relative = relocated(rendered, lambda path: Path(path.name))
        return cls(rendered=rendered.model_copy(update={**relative, "worker": worker}), files=files)

    def unpack(self, folder: Path) -> RenderedShot:
        """Write the files into `folder` (atomically each) and return the results pointing at them."""
        for name, data in self.files.items():
            write_atomic(folder / name, data)
        return self.rendered.model_copy(update=relocated(self.rendered, lambda path: folder / path))


def result_files(rendered: RenderedShot) -> list[Path]:
    """Every file a render left: the keyframe, the clip, the sound the video model made with it, the line."""
    results = (rendered.image, rendered.clip, rendered.speech)
    return [path for path in (*(r.path for r in results if r is not None), rendered.clip.audio) if path is not None]


def relocated(rendered: RenderedShot, move: Callable[[Path], Path]) -> dict[str, Any]:
    """The results of `rendered` with every file path moved by `move`, as a `model_copy` update."""
    clip_update: dict[str, Path] = {"path": move(rendered.clip.path)}
    if rendered.clip.audio is not None:
        clip_update["audio"] = move(rendered.clip.audio)
    update: dict[str, Any] = {
        "image": rendered.image.model_copy(update={"path": move(rendered.image.path)}),
        "clip": rendered.clip.model_copy(update=clip_update),
    }
    if rendered.speech is not None:
        update["speech"] = rendered.speech.model_copy(update={"path": move(rendered.speech.path)})
    return update


class ShotRenderer:
    """The Ray actor: the run's backends, built once on its node, rendering one shot at a time."""

    def __init__(self, settings: Settings, registry: BackendRegistry = BACKENDS) -> None:
        self.images = registry.build(settings, "image")
        self.video = registry.build(settings, "video")
        self.speech = registry.build_speech(settings)

    def where(self) -> str:
        """The node and GPUs this renderer holds, as a take records it."""
        context = ray.get_runtime_context()
        gpus = ",".join(str(gpu) for gpu in ray.get_gpu_ids())
        return f"ray node {context.get_node_id()[:12]}" + (f" GPU {gpus}" if gpus else "")

    def render(self, payload: ShotPayload) -> RenderedFiles:
        with tempfile.TemporaryDirectory(prefix="director-shot-") as scratch:
            root = Path(scratch)
            spec = payload.unpack(root / "pictures")
            folder = root / "take"
            folder.mkdir()
            rendered = render_with(spec, folder, self.images, self.video, self.speech)
            return RenderedFiles.pack(rendered, folder, self.where())


class RayExecutor:
    """Sends each shot to an idle renderer on the cluster; as many shots render at once as there are renderers."""

    name: ClassVar[str] = "ray"

    def __init__(self, renderers: list[Any], *, owns_connection: bool, address: str) -> None:
        self.address = address
        self._renderers = renderers
        self._idle: queue.Queue[Any] = queue.Queue()
        for renderer in renderers:
            self._idle.put(renderer)
        self._owns_connection = owns_connection

    @classmethod
    def from_settings(cls, settings: Settings, registry: BackendRegistry = BACKENDS) -> RayExecutor:
        """Connect to the cluster and start the renderers, failing now (not mid-film) if they cannot start.

        Raises:
            BackendError: the cluster cannot be reached, lacks the resources asked for, or a renderer fails to
                build its backends there (a model missing on the node, say).
        """
        options = settings.ray
        address = options.address or "a new local Ray instance"
        num_gpus = options.num_gpus if options.num_gpus is not None else registry.gpus_per_renderer(settings)
        owns_connection = not ray.is_initialized()
        if owns_connection:
            try:
                ray.init(
                    # "local" starts a new instance even where `ray start` left one (or its stale address).
                    address=options.address or "local",
                    runtime_env=options.runtime_env or None,
                    include_dashboard=False,
                    logging_level="WARNING",
                    configure_logging=False,
                )
            except (ConnectionError, RuntimeError, ValueError) as error:
                raise BackendError(
                    f"could not reach the Ray cluster at {address}: {error}. Start it (`ray start --head`), "
                    "fix DIRECTOR_RAY__ADDRESS, or set DIRECTOR_EXECUTOR=local"
                ) from None
        try:
            renderers = start_renderers(settings, registry, num_gpus, address)
        except BackendError:
            if owns_connection:
                ray.shutdown()
            raise
        return cls(renderers, owns_connection=owns_connection, address=address)

    def render(self, spec: ShotSpec, folder: Path) -> RenderedShot:
        payload = ShotPayload.pack(spec)
        renderer = self._idle.get()
        try:
            packed = ray.get(renderer.render.remote(payload))
        except RayTaskError as error:
            cause = error.cause if isinstance(error.cause, Exception) else error
            raise cause from None
        except RayActorError as error:
            raise BackendError(
                f"the Ray renderer of {spec.shot_id} was lost ({type(error).__name__}); Ray restarts it and the "
                "critic reshoots the shot"
            ) from None
        finally:
            self._idle.put(renderer)
        folder.mkdir(parents=True, exist_ok=True)
        return packed.unpack(folder)

    def close(self) -> None:
        for renderer in self._renderers:
            ray.kill(renderer)
        self._renderers = []
        if self._owns_connection and ray.is_initialized():
            ray.shutdown()


def start_renderers(settings: Settings, registry: BackendRegistry, num_gpus: float, address: str) -> list[Any]:
    """Start the renderers and wait until each has built its backends on its node."""
    options = settings.ray
    available = ray.cluster_resources()
    if num_gpus > available.get("GPU", 0.0):
        raise BackendError(
            f"the Ray cluster at {address} has {available.get('GPU', 0.0):g} GPUs and a renderer asks for "
            f"{num_gpus:g}: add GPU nodes, or set DIRECTOR_RAY__NUM_GPUS=0 to render on CPUs"
        )
    count = options.renderers or settings.render.max_parallel
    actor = ray.remote(ShotRenderer).options(num_gpus=num_gpus, num_cpus=options.num_cpus, max_restarts=1)
    renderers = [actor.remote(settings, registry) for _ in range(count)]
    try:
        ray.get([renderer.where.remote() for renderer in renderers], timeout=options.connect_timeout)
    except GetTimeoutError:
        for renderer in renderers:
            ray.kill(renderer)
        raise BackendError(
            f"{count} renderers asking {num_gpus:g} GPU and {options.num_cpus:g} CPU each did not all start on the "
            f"Ray cluster at {address} within {options.connect_timeout:g} s: free resources, lower "
            "DIRECTOR_RAY__RENDERERS, or raise DIRECTOR_RAY__CONNECT_TIMEOUT"
        ) from None
    except (RayActorError, RayTaskError) as error:
        for renderer in renderers:
            ray.kill(renderer)
        raise BackendError(f"a renderer could not start on the Ray cluster at {address}: {error}") from None
    return renderers
