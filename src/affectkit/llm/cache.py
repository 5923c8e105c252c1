"""A disk cache of successful LLM replies, keyed by everything that decides a reply: model, prompt id (name and
version), messages, schema and sampling options. A damaged cache never fails a job: reads and writes that fail are
logged and skipped."""

from __future__ import annotations

import json
import logging
import os
import threading
from pathlib import Path
from typing import Any

from affectkit.hashing import digest_json
from affectkit.llm.settings import LLMSettings
from affectkit.llm.templates import RenderedPrompt

log = logging.getLogger(__name__)


def default_cache_dir() -> Path:
    """``$AFFECTKIT_CACHE_DIR/llm``, else ``$XDG_CACHE_HOME/affectkit/llm`` (``~/.cache/affectkit/llm``)."""
    root = os.environ.get("AFFECTKIT_CACHE_DIR")
    if root:
        return Path(root).expanduser() / "llm"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache").expanduser() / "affectkit" / "llm"


class ReplyCache:
    """Replies on disk (``diskcache``), opened on first use; a no-op when ``settings.disk_cache`` is off."""

    def __init__(self, settings: LLMSettings) -> None:
        self.settings = settings
        self._store: Any = None
        self._lock = threading.Lock()

    def key(self, prompt: RenderedPrompt, body: dict[str, Any]) -> str:
        s = self.settings
        return digest_json({"model": body["model"], "prompt": prompt.prompt_id, "messages": prompt.messages,
                            "schema": prompt.schema,
                            "options": {"max_tokens": s.max_tokens, "temperature": s.temperature, "seed": s.seed,
                                        "structured": s.structured}})

    def get(self, key: str) -> dict[str, Any] | None:
        store = self._open()
        if store is None:
            return None
        try:
            value = store.get(key)
        except Exception as e:  # a damaged cache must not fail the job
            log.warning("LLM cache read failed: %s", e)
            return None
        return json.loads(value) if isinstance(value, str) else None

    def put(self, key: str, value: dict[str, Any]) -> None:
        store = self._open()
        if store is not None:
            try:
                store.set(key, json.dumps(value, ensure_ascii=False))
            except Exception as e:
                log.warning("LLM cache write failed: %s", e)

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None

    def _open(self) -> Any:
        if not self.settings.disk_cache:
            return None
        if self._store is None:
            import diskcache

            with self._lock:
                if self._store is None:
                    folder = self.settings.cache_dir
                    path = Path(folder).expanduser() if folder else default_cache_dir()
                    path.mkdir(parents=True, exist_ok=True)
                    self._store = diskcache.Cache(str(path))
        return self._store
