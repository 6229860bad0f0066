"""``python -m bench.vision``: the throughput and recall tables (bench/vision/__init__.py says
what is measured), printed and written into docs/benchmarks.md (blocks ``vision-throughput``,
``vision-recall``)."""

from __future__ import annotations

import sys

from bench._lib import cli
from bench._lib.report import run_line, write_block
from bench.vision import __doc__ as DOC
from bench.vision.footage import FOLDER

DATA = FOLDER / "data"  # the archive of the recall part (made afresh each run) and the exports in models/


def main() -> None:
    parser = cli("vision", DOC)
    parser.add_argument("--part", choices=("all", "throughput", "recall"), default="all")
    parser.add_argument("--seconds", type=float, default=20.0, help="seconds each throughput row runs (default 20)")
    parser.add_argument("--no-doc", action="store_true", help="print the tables, do not write docs/benchmarks.md")
    args = parser.parse_args()
    ran = [a for a in sys.argv[1:] if a != "--no-doc"]  # the command line as run, for the tables
    models = DATA / "models"
    models.mkdir(parents=True, exist_ok=True)
    if args.part in ("all", "throughput"):
        from bench.vision import throughput

        rows = throughput.measure(models, args.seconds)
        vit = throughput.ratio(rows, "open_clip ViT-B-32 (random weights) MatMul int8",
                               "open_clip ViT-B-32 (random weights) fp32")
        text = (f"{run_line('vision', *ran)}. One ONNX Runtime thread per backend, "
                f"{args.seconds:g} s a row after a warm-up call. ViT-B-32 MatMul int8 / fp32 (images, CPU time): "
                f"{vit:.2f}x.\n\n" + throughput.table(rows))
        print(text, flush=True)
        if not args.no_doc:
            write_block("vision-throughput", "Visual backends: throughput", text)
    if args.part in ("all", "recall"):
        from bench.vision import recall

        result = recall.measure(models, DATA)
        text = f"{run_line('vision', *ran)}.\n\n" + recall.table(result)
        print(text, flush=True)
        if not args.no_doc:
            write_block("vision-recall", "Visual labels: recall@5 of query -> shot", text)


if __name__ == "__main__":
    main()
