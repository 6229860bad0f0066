"""On-screen text of a clip, in the order it flows (docs/moments.md):

- ``scan``: the clip's sampled frames, decoded one at a time, each change-gated and read where it
  changed; its readings become text moments, and a small copy of each frame finds scene cuts;
- ``gate``: which part of a sample is read again (nothing, a changed region, the whole frame);
- ``tracks``: readings -> noise out -> tracks -> one text moment per track with honest
  intervals; finalize stitches tracks across clip boundaries (``stitch``).
"""
