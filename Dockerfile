# smartpark: one image with the `smartpark` command (simulate, collect, query, demo).
#
#   docker build -t smartpark .
#   docker run --rm smartpark --help
#
# Built in two stages so the final image holds only the installed package, not build tools.

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY parkwire ./parkwire
COPY simulator ./simulator
COPY collector ./collector
COPY smartpark ./smartpark
RUN pip wheel --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
COPY --from=build /wheels /wheels
RUN pip install --no-index --find-links=/wheels smartpark && rm -rf /wheels \
    && useradd --system --uid 10001 --user-group --home-dir /data --create-home smartpark
# Relative paths (smartpark-data/, the embedded store and dead-letter file) land in /data.
WORKDIR /data
USER smartpark
ENTRYPOINT ["smartpark"]
CMD ["--help"]
