"""API keys: random tokens, stored only as SHA-256 digests, checked in constant time.

Why SHA-256 and not a password hash (scrypt, bcrypt, argon2): a key made by :func:`new_key` carries 256 random
bits, so guessing it from its digest is infeasible however fast the hash is; the slow, salted hashes exist for
low-entropy passwords. A slow hash would instead cost every request tens of milliseconds of CPU and hand
anyone who sends bad keys a cheap way to load the server. This is the practice for API tokens (e.g. GitHub's
and PyPI's): store a fast digest of a high-entropy secret.

Stored form, one key per line of the keys file (``#`` starts a comment)::

    alice sha256:8f434346648f6b96df89dda901c5176b10a6d83961dd3c1ac88b59b2dc327aa4

or ``NAME=sha256:HEX`` items separated by commas in the environment variable ``AFFECTKIT_API_KEY_HASHES``.
Clients send the key as ``Authorization: Bearer KEY`` or ``X-API-Key: KEY``.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from affectkit.errors import AffectkitError

KEY_PREFIX = "ak_"
_DIGEST = re.compile(r"^sha256:([0-9a-f]{64})$")
_NAME = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")


def new_key() -> str:
    """A fresh API key: ``ak_`` and 43 URL-safe characters (256 random bits)."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    """The stored form of ``key``: ``sha256:`` and its hex digest."""
    return "sha256:" + hashlib.sha256(key.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class StoredKey:
    name: str
    digest: bytes


class KeyStore:
    """The accepted keys, as digests. ``verify`` compares a candidate against every stored digest with
    :func:`hmac.compare_digest` and never stops early, so its timing says nothing about which key (if any)
    matched."""

    def __init__(self, keys: list[StoredKey]) -> None:
        names = [k.name for k in keys]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise AffectkitError(f"API key names must be unique; repeated: {', '.join(dupes)}")
        self.keys = keys

    def __len__(self) -> int:
        return len(self.keys)

    def verify(self, key: str | None) -> str | None:
        """The name of the key, or ``None`` when it is not one of ours."""
        if not key:
            return None
        digest = hashlib.sha256(key.encode("utf-8", "surrogateescape")).digest()
        found: str | None = None
        for stored in self.keys:
            if hmac.compare_digest(digest, stored.digest):
                found = stored.name
        return found

    @classmethod
    def load(cls, path: str | Path | None = None, env_var: str | None = "AFFECTKIT_API_KEY_HASHES",
             environ: "os._Environ[str] | dict[str, str] | None" = None) -> "KeyStore":
        """Keys from a keys file and/or an environment variable (both may be given; names must differ)."""
        environ = os.environ if environ is None else environ
        keys: list[StoredKey] = []
        if path is not None:
            p = Path(path)
            if not p.is_file():
                raise AffectkitError(f"API keys file not found: {p}")
            for number, line in enumerate(p.read_text("utf-8").splitlines(), 1):
                line = line.split("#", 1)[0].strip()
                if line:
                    parts = line.split()
                    if len(parts) != 2:
                        raise AffectkitError(f"{p}:{number}: expected 'NAME sha256:HEX', got {len(parts)} field(s)")
                    keys.append(_parse(parts[0], parts[1], f"{p}:{number}"))
        raw = environ.get(env_var, "") if env_var else ""
        for n, item in enumerate(x.strip() for x in raw.split(",") if x.strip()):
            name, sep, digest = item.partition("=")
            if not sep:
                raise AffectkitError(f"{env_var} item {n + 1}: expected NAME=sha256:HEX")
            keys.append(_parse(name.strip(), digest.strip(), f"{env_var} item {n + 1}"))
        return cls(keys)


def _parse(name: str, digest: str, where: str) -> StoredKey:
    if not _NAME.match(name):
        raise AffectkitError(f"{where}: key name {name!r} must be 1-64 letters, digits or _.@-")
    m = _DIGEST.match(digest.lower())
    if not m:
        raise AffectkitError(f"{where}: expected a digest 'sha256:' + 64 hex digits (made by "
                             "'affectkit serve new-key'); never store the key itself")
    return StoredKey(name, bytes.fromhex(m.group(1)))


def add_key(path: str | Path, name: str) -> str:
    """Make a key called ``name``, append its digest to the keys file (created mode 0600), return the key."""
    p = Path(path)
    existing = KeyStore.load(p, env_var=None) if p.exists() else KeyStore([])
    if any(k.name == name for k in existing.keys):
        raise AffectkitError(f"{p} already has a key named {name!r}")
    _parse(name, hash_key("x"), "name")  # validates the name
    key = new_key()
    fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "a", encoding="utf-8") as f:
        f.write(f"{name} {hash_key(key)}\n")
    return key


def key_from_headers(headers: dict[bytes, bytes] | list[tuple[bytes, bytes]]) -> str | None:
    """The key a request carries in ``Authorization: Bearer KEY`` or ``X-API-Key: KEY`` (raw ASGI headers); an
    empty header is no key, so an empty ``X-API-Key`` beside a Bearer token does not hide the token."""
    items = headers.items() if isinstance(headers, dict) else headers
    for name, value in items:
        lname = name.lower()
        if lname == b"x-api-key" and value.strip():
            return value.decode("latin-1").strip()
        if lname == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
    return None
