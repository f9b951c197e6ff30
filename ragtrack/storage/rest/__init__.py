"""The REST store: the ragtrack server as just another Store (``_store.py``),
its HTTP transport (``_http.py``) and the JSON shapes both ends share
(``_wire.py``)."""

from ragtrack.storage.rest._store import RestStore

__all__ = ["RestStore"]
