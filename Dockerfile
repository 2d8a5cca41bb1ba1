# CareTeam: one image for the web app (gunicorn), the Celery worker and beat, and migrations.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

RUN groupadd --system --gid 10001 careteam \
    && useradd --system --uid 10001 --gid careteam --home-dir /app --shell /usr/sbin/nologin careteam

WORKDIR /app

# Dependencies first, read from pyproject.toml and constraints.txt alone (indirect ones at
# the versions the tests passed with), so that editing the code does not reinstall them:
# this layer is rebuilt only when one of the two changes.
COPY pyproject.toml constraints.txt ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/requirements.txt \
    && pip install --no-cache-dir -c constraints.txt -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

COPY careteam/ careteam/
COPY worker/ worker/
COPY templates/ templates/
COPY migrations/ migrations/
COPY wsgi.py ./

# Editable (-e) on purpose: create_app finds templates/ and migrations/ beside the package
# (careteam/../templates), and Flask puts the instance folder beside it too. A plain
# `pip install .` would copy the package into site-packages, where neither exists and
# the instance folder (/usr/local/var/...) is not writable by the app's user.
RUN pip install --no-cache-dir --no-deps -e . \
    && mkdir -p /app/instance \
    && chown careteam:careteam /app/instance

USER careteam:careteam

EXPOSE 8000

# Worker processes for gunicorn; heartbeat files on tmpfs, as gunicorn's docs advise for
# containers. The worker and beat services override this command. The access log has no
# path, query or referrer (reset, invitation and unsubscribe links carry tokens in their
# path; searches carry names): the request id joins it to the app's JSON line (endpoint).
CMD ["gunicorn", "wsgi:app", "--bind", "0.0.0.0:8000", "--workers", "3", "--worker-tmp-dir", "/dev/shm", "--access-logfile", "-", "--access-logformat", "%(h)s %(t)s %(m)s %(s)s %(B)s %(M)sms request_id=%({x-request-id}o)s", "--error-logfile", "-"]
