# syntax=docker/dockerfile:1
# presales-allocator HTTP service. Two stages: `build` resolves the locked dependencies with uv and installs
# the project as a wheel into /app/.venv; `runtime` is a slim Python with only that environment, run as a
# non-root user. Database migrations run when the service starts (the app's start-up does them).
#
#   docker build -t presales-allocator .
#   docker run -p 8000:8000 -e API_KEYS=change-me:acme -v presales-data:/data presales-allocator
#
# Outside a container's loopback the service needs API keys: without API_KEYS it refuses to start.
# PostgreSQL instead of the SQLite file: -e DATABASE_URL=postgresql://user:password@host:5432/db

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
COPY --from=ghcr.io/astral-sh/uv:0.13.9 /uv /bin/uv
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv
WORKDIR /src
# Dependencies first: this layer is reused until pyproject.toml or uv.lock change.
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-dev --no-install-project
COPY README.md ./
COPY service ./service
RUN uv sync --frozen --no-dev --no-editable

FROM ${PYTHON_IMAGE} AS runtime
RUN groupadd --system --gid 10001 presales \
    && useradd --system --uid 10001 --gid presales --home-dir /data --shell /usr/sbin/nologin presales \
    && mkdir -p /data \
    && chown presales:presales /data
COPY --from=build /app/.venv /app/.venv
ENV PATH="/app/.venv/bin:${PATH}" \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DATABASE_URL=sqlite:////data/presales-allocator.db
WORKDIR /data
VOLUME ["/data"]
USER presales:presales
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=4).status != 200)"]
CMD ["presales-allocator", "serve", "--host", "0.0.0.0", "--port", "8000"]
