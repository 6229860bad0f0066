"""Moments: what a video showed, said or wrote, each with its span in stream seconds.

- ``values``: moments as values, before and after storage: ``NewMoment`` (what the analysis
  makes), how an embedding is stored (``EMBEDDING_DTYPE``), ``FinalizeInputs`` (what finalize
  reads back);
- ``store``: every write of a part's results (moments, and beside them the clip's scene cuts,
  caption and notes, the video's summary) and finalize's read of them.

Search and ask read moments through ``video_qa.search`` and ``video_qa.ask``.
"""
