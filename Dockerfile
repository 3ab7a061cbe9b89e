# syntax=docker/dockerfile:1
# The vhhub image (ADR 0018, docs/operations.md).
#
# Two stages on one pinned Debian base: `build` makes a virtualenv with vhhub and its
# dependencies, `runtime` copies only that virtualenv, the policy bundle's sources and the
# fact-type schemas onto the same base, with Python and the PDF libraries from Debian.
# The image holds no key of any kind: no KEK, no blind-index key, no audit signing key, no dev
# partner key (those come from the HSM, a mounted secret or the environment at run time).
# It runs as an unprivileged user and works with a read-only root filesystem: the only
# writable places are /tmp and the data dir, both mounted by the orchestrator.
#
# Build:   docker build -t vhhub:0.1.0 .
# Offline: BASE_IMAGE may name a base built from Debian's own packages (debootstrap, ADR 0018):
#          docker build --build-arg BASE_IMAGE=localhost/debian:bookworm-minbase -t vhhub .
#
# Pinned: an exact Debian point release. In production pin it by digest as well, from your
# registry mirror: BASE_IMAGE=docker.io/library/debian:12.12-slim@sha256:<digest>.
ARG BASE_IMAGE=docker.io/library/debian:12.12-slim

FROM ${BASE_IMAGE} AS build
ENV DEBIAN_FRONTEND=noninteractive \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv ca-certificates \
 && rm -rf /var/lib/apt/lists/*
RUN python3 -m venv /opt/vhhub
WORKDIR /src
COPY pyproject.toml README.md ./
COPY hub ./hub
# A network that inspects TLS (a proxy with its own CA) can hand pip that CA as a build secret,
# which never lands in a layer: --secret id=extra_ca,src=/etc/ssl/certs/ca-certificates.crt
RUN --mount=type=secret,id=extra_ca \
    if [ -s /run/secrets/extra_ca ]; then export PIP_CERT=/run/secrets/extra_ca; fi \
 && /opt/vhhub/bin/pip install --no-compile . \
 && /opt/vhhub/bin/python -m compileall -q /opt/vhhub/lib \
 && /opt/vhhub/bin/vhhub --version

FROM ${BASE_IMAGE} AS runtime
ENV DEBIAN_FRONTEND=noninteractive
# Python from Debian (the virtualenv's interpreter), the libraries WeasyPrint needs for the
# art. 15 report's PDF, and CA certificates for the partners' IdPs
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 ca-certificates \
      libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --gid 10001 vhhub \
 && useradd --uid 10001 --gid vhhub --home-dir /var/lib/vhhub --no-create-home \
      --shell /usr/sbin/nologin vhhub \
 && install -d -o vhhub -g vhhub -m 0700 /var/lib/vhhub /var/lib/vhhub/keys

COPY --from=build /opt/vhhub /opt/vhhub
# Read-only configuration the hub needs besides the code: the Rego policy (its version is the
# bundle revision OPA must serve), the fact-type schemas, and the demo network file only as an
# example (mount the production network file at /etc/vhhub/network.toml).
COPY --chown=root:root policies /srv/vhhub/policies
COPY --chown=root:root schemas /srv/vhhub/schemas
COPY --chown=root:root network/demo.toml /srv/vhhub/network/demo.toml

ENV PATH=/opt/vhhub/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    XDG_CACHE_HOME=/tmp/cache \
    VHHUB_DATA_DIR=/var/lib/vhhub \
    VHHUB_POLICY_DIR=/srv/vhhub/policies \
    VHHUB_SCHEMA_DIR=/srv/vhhub/schemas \
    VHHUB_NETWORK_FILE=/etc/vhhub/network.toml \
    VHHUB_HOST=0.0.0.0 \
    VHHUB_PORT=8000

USER 10001:10001
WORKDIR /var/lib/vhhub
EXPOSE 8000
# /api/v1/ready: the database answers at the newest schema, the keys and the policy load
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python3", "-c", "import os,sys,urllib.request as u; sys.exit(0 if u.urlopen('http://127.0.0.1:%s/api/v1/ready' % os.environ.get('VHHUB_PORT', '8000'), timeout=4).status == 200 else 1)"]
ENTRYPOINT ["vhhub"]
CMD ["serve"]
