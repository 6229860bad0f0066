"""The vector index by role (docs/search-index.md): ``space`` (the text and visual spaces),
``location``, ``generation`` (a persisted faiss IVF-PQ generation, memory-mapped), ``rows``, ``live``
(this process's state: generation, exact tail, dead ids), ``query`` (exact re-ranking under
filters), ``registry``, ``writer`` (the background thread) and ``build`` (everything that writes).
A query never writes: ``query`` and ``live`` cannot import ``build`` or ``writer``."""
