# syntax=docker/dockerfile:1
FROM python:3.11-slim AS build
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never
RUN pip install --no-cache-dir uv==0.13.9
WORKDIR /srv
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --locked --no-dev --no-install-project
COPY app ./app
COPY migrations ./migrations
COPY alembic.ini ./
RUN uv sync --locked --no-dev

FROM python:3.11-slim AS runtime
RUN useradd --system --uid 10001 --home-dir /srv --shell /usr/sbin/nologin facet
WORKDIR /srv
COPY --from=build --chown=facet:facet /srv /srv
# WEB_CONCURRENCY is uvicorn's worker count (about one per core the container gets);
# FORWARDED_ALLOW_IPS names the TLS proxy whose X-Forwarded-For/-Proto are believed
# (uvicorn trusts only 127.0.0.1 unless told): see docs/deploy.md.
ENV PATH="/srv/.venv/bin:$PATH" PYTHONUNBUFFERED=1 FACET_ENV=production \
    FACET_OUTBOX_IN_PROCESS=false WEB_CONCURRENCY=2
USER facet
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
  CMD ["python", "-c", "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status == 200 else 1)"]
# The same image runs every role by overriding the command: `facet migrate` (a release
# step before new replicas start), `facet worker` (the outbox, separate containers) and
# `facet purge` (a daily scheduled job). By default it serves the API.
CMD ["uvicorn", "app.main:create_app", "--factory", "--host", "0.0.0.0", "--port", "8000", "--proxy-headers", "--no-access-log", "--timeout-graceful-shutdown", "20"]
