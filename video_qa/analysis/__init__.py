"""What a video's parts compute, as functions over media and data (no database, no ledger): ``plan``;
``hear_read`` (``speech``, ``screen_text``, ``scenes``, ``visual``, ``embed``); ``visual`` alone
(``collect.decode_samples``, ``look``) for ``look``; ``events`` for ``see``; ``finalize``
(stitching, ``chapters``, ``summary``). Results are ``video_qa.moments.values.NewMoment``s, stored
by ``video_qa.moments.store``; ``video_qa.pipeline.runners`` runs each part."""
