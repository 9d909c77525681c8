# The provider under granian. Build context: the repository root (.dockerignore keeps keys,
# the instance folder, virtualenvs, caches and node_modules out).
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    IDP_KEYS_DIR=/app/keys IDP_INSTANCE_DIR=/app/instance
WORKDIR /app
COPY pyproject.toml README.md ./
COPY idp ./idp
COPY templates ./templates
COPY static ./static
# The runtime user owns what the provider writes: signing keys, and the instance folder, which
# holds the mail outbox when no IDP_SMTP_URL is set. Both are volumes (docker-compose.yml).
RUN pip install --no-cache-dir -e . \
    && useradd --system --home /app idp \
    && mkdir -p /app/keys /app/instance/outbox \
    && chown idp:idp /app/keys /app/instance /app/instance/outbox
USER idp
VOLUME ["/app/keys", "/app/instance"]
EXPOSE 8000
# Migrate, then serve: one worker per core (WEB_CONCURRENCY overrides), options as in the README.
# IDP_ENV defaults to production under idp.wsgi; unsafe settings stop the container with one
# line on stderr instead of restarting workers.
CMD ["sh", "-c", "idp db upgrade && exec granian --interface wsgi --host 0.0.0.0 --port 8000 --workers ${WEB_CONCURRENCY:-$(nproc)} --blocking-threads 1 --workers-kill-timeout 30 --access-log idp.wsgi:app"]
