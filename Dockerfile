# syntax=docker/dockerfile:1
# The operator image: the `canary` command in a virtualenv, run as an unprivileged user on a
# read-only root filesystem (see charts/canary-operator). The sandbox extra (control plane,
# Envoy, kubectl) is for development only and is not installed.
#
# The base is pinned to an exact Python patch release on Debian 12. When publishing, also pin
# its digest (same image in both stages, so the virtualenv's interpreter path matches):
#   docker buildx imagetools inspect python:3.12.12-slim-bookworm
#   docker build --build-arg PYTHON_IMAGE=python:3.12.12-slim-bookworm@sha256:<digest> .
ARG PYTHON_IMAGE=python:3.12.12-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN python -m venv /opt/venv
WORKDIR /src
COPY pyproject.toml README.md ./
COPY canary ./canary
RUN /opt/venv/bin/pip install . \
 && /opt/venv/bin/python -c "import canary.cli.app"

FROM ${PYTHON_IMAGE}
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
COPY --from=build /opt/venv /opt/venv
# 65532: the conventional "nonroot" uid/gid; no home, no shell login, owns nothing in the image.
USER 65532:65532
EXPOSE 8080 8081
ENTRYPOINT ["canary"]
CMD ["operator"]
