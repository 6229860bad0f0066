# VideoQA image: one image for the web app, the CPU worker and the GPU worker (the command picks).
# Build: docker compose build   (see docs/operations.md)
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    VIDEOQA_DATA_DIR=/data VIDEOQA_MEDIA_DIR=/media HF_HOME=/models/huggingface \
    GRADIO_ANALYTICS_ENABLED=False

RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ffmpeg fonts-dejavu-core curl \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
# torch first and pinned, so the project's looser bound never pulls another build
RUN pip install "torch==2.14.1" "torchvision==0.29.1"
COPY pyproject.toml README.md ./
COPY video_qa ./video_qa
COPY model ./model
COPY workers ./workers
COPY web ./web
COPY videoqa_cli ./videoqa_cli
COPY migrations ./migrations
RUN pip install . "torch==2.14.1" "torchvision==0.29.1"

RUN useradd --create-home --uid 1000 videoqa \
 && mkdir -p /data /media /models /archive \
 && chown videoqa:videoqa /data /media /models
USER videoqa
EXPOSE 7860
ENTRYPOINT ["videoqa"]
CMD ["serve", "--no-worker"]
