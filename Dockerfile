# The provider under gunicorn. Build context: the repository root.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY idp ./idp
COPY templates ./templates
COPY static ./static
COPY keys ./keys
RUN pip install --no-cache-dir -e . && useradd --system --home /app idp && chown -R idp /app/keys
USER idp
EXPOSE 8000
# Migrate, then serve. IDP_ENV defaults to production under idp.wsgi.
CMD ["sh", "-c", "idp db upgrade && exec gunicorn --bind 0.0.0.0:8000 --workers ${WEB_CONCURRENCY:-4} --access-logfile - idp.wsgi:app"]
