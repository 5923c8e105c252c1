"""``affectkit serve``: a REST service and a web page over the same analyzers and schema as the CLI.

    >>> from affectkit.serve import ServeSettings, create_app      # doctest: +SKIP
    >>> app = create_app(ServeSettings(models=["default"]))         # an ASGI app for uvicorn

Needs the ``serve`` extra (fastapi, uvicorn, prometheus-client, python-multipart).
"""

from affectkit.serve.app import create_app
from affectkit.serve.auth import KeyStore, add_key, hash_key, new_key
from affectkit.serve.batcher import MicroBatcher
from affectkit.serve.settings import Limits, ServeSettings, is_loopback

__all__ = ["create_app", "ServeSettings", "Limits", "MicroBatcher", "KeyStore", "add_key", "hash_key", "new_key",
           "is_loopback"]
