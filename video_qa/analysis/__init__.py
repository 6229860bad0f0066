"""What a video's parts compute, as functions over media and data: no database, no ledger.

In the order the data flows:

- ``plan``: probe a file and plan its clips (the activity measure included);
- ``hear_read`` (a clip's cpu part): ``speech`` (audio -> Whisper -> speech moments) beside
  ``screen_text`` (sampled frames -> change gate -> readings -> tracks -> text moments, and
  ``scenes``: the scene cuts between those frames), then ``embed``;
- ``events`` (a clip's gpu part, ``see``): the clip's frames -> the vision-language model ->
  caption and event moments with absolute times;
- ``finalize`` (the video): text tracks stitched across clips, ``chapters`` from content,
  ``summary``.

Results are ``video_qa.moments.values.NewMoment``s; ``video_qa.moments.store`` writes them and
``video_qa.pipeline.runners`` runs each part. Seconds per stage go to a ``timing.StageClock``.
"""
