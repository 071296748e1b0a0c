# syntax=docker/dockerfile:1.7
# The model worker, in two targets sharing every layer but torch:
#   docker build -f docker/worker.Dockerfile --target cpu  -t attune-worker:cpu  .
#   docker build -f docker/worker.Dockerfile --target cuda -t attune-worker:cuda .
# The CUDA wheels carry their own CUDA runtime, so both run on the slim Python image; the
# GPU host needs only the NVIDIA driver and the container toolkit.

ARG PYTHON_IMAGE=python:3.11.11-slim-bookworm
ARG TORCH_VERSION=2.13.0
ARG TORCH_CPU_INDEX=https://download.pytorch.org/whl/cpu
ARG TORCH_CUDA_INDEX=https://download.pytorch.org/whl/cu128

FROM ${PYTHON_IMAGE} AS build-base
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
# The tree stays at /app, installed in place: the code finds models.toml and data/ beside it.
WORKDIR /app
COPY docker/constraints.txt /tmp/constraints.txt
COPY pyproject.toml README.md models.toml ./
COPY attune ./attune
COPY backend ./backend
COPY worker ./worker
COPY training ./training
# The shipped corpora that `attune prepare` builds the classifiers and retrieval index from.
COPY data ./data
# Trained adapters committed with the code (models.toml points at them with ./artifacts/...).
COPY artifacts ./artifacts

FROM build-base AS build-cpu
ARG TORCH_VERSION
ARG TORCH_CPU_INDEX
RUN pip install --index-url "${TORCH_CPU_INDEX}" "torch==${TORCH_VERSION}" \
    && pip install --constraint /tmp/constraints.txt --editable ".[worker]"

FROM build-base AS build-cuda
ARG TORCH_VERSION
ARG TORCH_CUDA_INDEX
RUN pip install --index-url "${TORCH_CUDA_INDEX}" "torch==${TORCH_VERSION}" \
    && pip install --constraint /tmp/constraints.txt --editable ".[worker]"

FROM ${PYTHON_IMAGE} AS runtime
RUN groupadd --system --gid 10001 attune \
    && useradd --system --uid 10001 --gid attune --home-dir /var/lib/attune --shell /usr/sbin/nologin attune \
    && mkdir -p /var/lib/attune \
    && chown attune:attune /var/lib/attune
WORKDIR /app
# Weights come from ATTUNE_HOME (a volume) or a mounted directory, never from a hub at run time.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    ATTUNE_ENV=production \
    ATTUNE_HOME=/var/lib/attune \
    HF_HOME=/var/lib/attune/cache/huggingface \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1
EXPOSE 9101
CMD ["attune", "worker", "--metrics-port", "9101"]

FROM runtime AS cpu
COPY --from=build-cpu /opt/venv /opt/venv
COPY --from=build-cpu /app /app
USER 10001:10001

FROM runtime AS cuda
COPY --from=build-cuda /opt/venv /opt/venv
COPY --from=build-cuda /app /app
ENV NVIDIA_VISIBLE_DEVICES=all \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility
USER 10001:10001
