"""Ingest throughput benchmark: generated 1280x720 30 fps H.264 files with known slide titles,
text overlays and speech, each ingested through the real pipeline beside its whole-file decode
floor (``ffmpeg -i f -f null -``) measured in the same run.

    .venv/bin/python -m bench.ingest                         # every row
    .venv/bin/python -m bench.ingest --rows talk10,busy10    # some rows
    .venv/bin/python -m bench.ingest --generate-only --rows talk10,busy10,talk60,talk120
    .venv/bin/python -m bench.ingest --rows cuts4 --exact-cuts both   # exact cut timing on vs off

Files (``files``: made once into bench/.cache/ingest, x264 veryfast (talk) / superfast (busy),
CRF 23, GOP 250, 3 B-frames, AAC; generation is not measured; ``truth``: what they show and say):

- **talk**: white slides, a big title changing every 31-60 s at known times, bullet lines, a
  240x135 moving inset in the bottom-right corner (colour gradients, a shape walking across, no
  text), an espeak-ng sentence every ~70 s. A 10-minute unit; the 1-h and 2-h files are that
  unit concatenated (concat demuxer, ``-c copy``), so slides keep changing throughout and every
  title is at a known time.
- **busy**: full-frame motion (test patterns, cellular life, gradients) with hard cuts, captions
  in boxes at known times, a few sentences; 10 minutes.
- **cuts**: 4 minutes of shots 2.2-5 s long (``truth.CUT_SHOTS``) joined with hard cuts, the busy
  unit's moving pictures between flat colours and still test cards, no audio, no text; the truth
  is the cuts' times.

Rows (``measure.ROWS``): ``talk10``, ``busy10``, ``talk60``, ``talk120`` (embedded, default
settings, which make visual moments: shot labels and, without an image-text model, the
classifier's features; ``--visual off`` measures a row with ``VIDEOQA_VISUAL_MODEL=off`` as
``ROW (visual off)``, ``--visual both`` each row both ways in one run), ``server10`` (PostgreSQL + Redis, a fresh database and Redis db, one
``videoqa worker -Q cpu``), ``tiny10`` (embedded with the tiny random-weight vision twin:
informative, not a target), ``cuts4`` (embedded, the cut-heavy file). ``--exact-cuts off``
measures a row with ``VIDEOQA_EXACT_CUTS=false`` (cuts at their samples, no decode around them) as
``ROW (exact cuts off)``; ``--exact-cuts both`` measures each row on, then off, one right after the
other, and writes the pairs of this run (wall and decode stage on / off, the known cuts the stored
cuts cover) into the block ``ingest-cuts``; rows of the cut-heavy file and rows with exact cuts off
are kept out of the main table.

Per row (``measure``): decode floor wall s; ingest wall s (``videoqa ingest --wait``, fresh data
folder, model loading included); realtime factor; ratio to the floor; average CPU % of the whole
process tree (bench._lib.monitor, every 0.5 s: CPU seconds of the ingest process, its children
and, in server mode, the worker processes and their pool children, over the wall time); peak RSS
(max over the samples of the ingest process's RSS, in server mode of the largest worker
process); model loading seconds (measured in a separate fresh process with the same settings:
imports plus the first call of each backend, because the pipeline loads models lazily and logs
no end time); stage seconds summed from the work ledger; and the ground truth found
(titles/overlays as text moments, sentences as speech moments, starting within +-2 s of the
known start) with the median start error. ``table`` writes the table into docs/benchmarks.md
(block ``ingest``); rows not run this time are kept from earlier runs
(bench/.cache/ingest/results.json) with their own date. Every row also records the scene cuts
stored (``clips.scene_cuts``) against the known cuts of its file (``check_cuts``).
"""
