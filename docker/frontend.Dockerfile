# syntax=docker/dockerfile:1.7
# The public entry point: the built React app served by an unprivileged nginx, with the
# project's proxy config rendered for the backend service. Build from the repository root:
#   docker build -f docker/frontend.Dockerfile --build-arg BACKEND_SERVERS="backend:8000" -t attune-nginx .

ARG NODE_IMAGE=node:22.12.0-bookworm-slim
ARG PYTHON_IMAGE=python:3.11.11-slim-bookworm
ARG NGINX_IMAGE=nginxinc/nginx-unprivileged:1.27.3-alpine

FROM ${NODE_IMAGE} AS build
WORKDIR /src/frontend
COPY frontend/package.json frontend/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY frontend/ ./
RUN npm run build

FROM ${PYTHON_IMAGE} AS config
# Space-separated host:port list. Compose resolves one service name to every replica's address.
ARG BACKEND_SERVERS="backend:8000"
ARG SERVER_NAME=_
# TLS=1 adds the HTTPS server on 8443; mount the certificate and key at run time.
ARG TLS=0
COPY nginx/render.py nginx/attune.conf.template /nginx/
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
RUN args=(--listen 8080 --static-root /usr/share/nginx/html --server-name "${SERVER_NAME}" --out /attune.conf); \
    for server in ${BACKEND_SERVERS}; do args+=(--backend "${server}"); done; \
    if [ "${TLS}" = "1" ]; then \
        args+=(--tls-listen 8443 --tls-cert /etc/nginx/tls/fullchain.pem --tls-key /etc/nginx/tls/privkey.pem); \
    fi; \
    python /nginx/render.py "${args[@]}"

FROM ${NGINX_IMAGE}
COPY --from=build /src/frontend/dist /usr/share/nginx/html
COPY --from=config /attune.conf /etc/nginx/conf.d/default.conf
EXPOSE 8080 8443
