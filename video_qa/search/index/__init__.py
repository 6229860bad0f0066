"""The vector part of a search: a persisted faiss IVF-PQ index per database, shared by the
processes of a machine through the page cache, an exact in-memory tail of newer rows, and exact
re-ranking from the database (docs/search-index.md).

By role:

- ``location``: where a database's index folder is;
- ``generation``: a published generation's files, opened memory-mapped (read only);
- ``rows``: reading embeddings from the database;
- ``live``: this process's state of one database's index (the generation it maps, the exact tail,
  dead ids) and how it follows the database and the published files;
- ``query``: the nearest moments under filters, scored exactly from the database;
- ``registry``: one ``VectorIndex`` per database per process, with its background writer;
- ``writer``: the background thread that folds or rebuilds an index, never a query's thread;
- ``build``: everything that writes the folder (training, folding, publishing, retiring).

A query never writes: ``query`` and ``live`` cannot import ``build`` (an import-linter contract);
a missing, damaged or outgrown generation makes the query search exactly and asks the writer.
"""
