"""Moments, each with its span in stream seconds: ``values`` (``NewMoment``, how vectors are stored,
``FinalizeInputs``) and ``store``, which holds every write of a part's results (moments, their text
and image vectors, a clip's scene cuts, caption and notes, the summary) and finalize's read of them."""
