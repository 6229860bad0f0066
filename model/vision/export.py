"""The export process: ``python -m model.vision.export KIND ...`` (see ``model.vision.exports``).

    python -m model.vision.export image-text LOCATION MODELS_DIR [--int8]
    python -m model.vision.export imagenet MODELS_DIR
    python -m model.vision.export faces MODELS_DIR

It loads PyTorch, writes the export folder and exits; the caller holds the kind's lock.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    kinds = parser.add_subparsers(dest="kind", required=True)
    image_text = kinds.add_parser("image-text")
    image_text.add_argument("location")
    image_text.add_argument("models_dir", type=Path)
    image_text.add_argument("--int8", action="store_true")
    for kind in ("imagenet", "faces"):
        kinds.add_parser(kind).add_argument("models_dir", type=Path)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if args.kind == "image-text":
        from model.vision.clip_export import export_image_text

        print(export_image_text(args.location, args.models_dir, int8=args.int8))
    elif args.kind == "imagenet":
        from model.vision.classify_export import export_classifier

        print(export_classifier(args.models_dir))
    else:
        from model.vision.faces_export import export_faces

        print(export_faces(args.models_dir))


if __name__ == "__main__":
    main()
