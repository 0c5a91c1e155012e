# Image for the stages' workers (copies, enrichment, archiver), the jobs and loadgen. Build args let you point pip at a CPU-only torch index.
FROM python:3.11-slim-bookworm
ARG PIP_EXTRA_INDEX_URL=""
RUN apt-get update && apt-get install -y --no-install-recommends ffmpeg libchromaprint-tools libgl1 libglib2.0-0 \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
ENV PYTHONUNBUFFERED=1
CMD ["python", "-m", "streams", "copies", "worker", "-l", "info"]
