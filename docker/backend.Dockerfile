# syntax=docker/dockerfile:1.7
# The API image: `attune api` (uvicorn) and the one-shot `attune migrate`. No torch in it.
# Build from the repository root: docker build -f docker/backend.Dockerfile -t attune-backend .

ARG PYTHON_IMAGE=python:3.11.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
# The code finds alembic.ini, migrations/ and models.toml beside its packages, so the tree
# stays at /app and is installed in place (editable) rather than copied into site-packages.
WORKDIR /app
COPY docker/constraints.txt /tmp/constraints.txt
COPY pyproject.toml README.md alembic.ini models.toml ./
COPY attune ./attune
COPY backend ./backend
COPY worker ./worker
COPY training ./training
COPY migrations ./migrations
RUN pip install --constraint /tmp/constraints.txt --editable ".[server]"

FROM ${PYTHON_IMAGE} AS runtime
RUN groupadd --system --gid 10001 attune \
    && useradd --system --uid 10001 --gid attune --home-dir /app --shell /usr/sbin/nologin attune \
    && mkdir -p /var/lib/attune \
    && chown attune:attune /var/lib/attune
COPY --from=build /opt/venv /opt/venv
COPY --from=build /app /app
WORKDIR /app
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    ATTUNE_ENV=production \
    ATTUNE_HOME=/var/lib/attune
USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"]
CMD ["attune", "api", "--host", "0.0.0.0", "--port", "8000"]
