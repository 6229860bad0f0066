"""What was seen: visual moments per shot, from the frames a clip part already decodes.

- ``shots``: shots from the scene cuts between samples (a long shot split at its largest picture
  changes), their keyframes, and stitching shots across clip boundaries at finalize;
- ``collect``: a clip's samples as small copies, handed over by the frame scan as they are decoded
  (or decoded for the ``look`` part alone);
- ``look``: keyframes embedded in batches and labelled, as ``NewMoment``s of kind ``visual``.
"""
