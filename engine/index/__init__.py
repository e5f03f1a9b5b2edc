"""The local document index: the user's chosen folders, read into SQLite.

    from engine.index import IndexStore, sync
    with IndexStore() as store:
        store.add_folder("~/Writing", excludes=["private", "*.md"])
        report = sync(store, progress=print)
"""

from engine.index.ingest import SyncReport, embed_missing, sync
from engine.index.readers import ReadError, read_document
from engine.index.search import Hit, nearest, semantic_search, text_search
from engine.index.store import Folder, IndexStore

__all__ = [
    "Folder", "Hit", "IndexStore", "ReadError", "SyncReport", "embed_missing",
    "nearest", "read_document", "semantic_search", "sync", "text_search",
]
