"""The words index: a tantivy (BM25) index folder of every moment's text beside the vector index,
the full text of a PostgreSQL archive (``store``: the folder and its schema; ``live``: a process's
reader with its exact tail; ``sync``: the one writer; ``registry``: one per database per process)."""
