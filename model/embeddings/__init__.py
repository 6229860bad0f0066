"""Text embeddings: one model, run as its ONNX export on ONNX Runtime, or with sentence-transformers
where no export can be made.

- ``factory``: ``text_embedder(location, models_dir, threads, device)``, the one embedder that
  ingest, search and ask use (``model.protocols.TextEmbedder``);
- ``folder``: the export folder's layout, its manifest and when it is valid; tokenisation settings;
- ``onnx``: ``OnnxEmbedder``, the export run by ONNX Runtime and ``tokenizers`` (no PyTorch);
- ``store``: a data folder's export found, linked, or made by a child process under a file lock;
- ``export``: the export itself, run in that child (``python -m model.embeddings.export``);
- ``heavy``: ``SentenceTransformerEmbedder``, the model on PyTorch (for the export and the
  fallback).

Importing this package imports no module of it.
"""
