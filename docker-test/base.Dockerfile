# ztnc installed on a Debian base: the image every test image builds on. Build context: the
# repository root (build.sh passes it); base.Dockerfile.dockerignore keeps build output out.
FROM node:20-bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends make g++ python3 ca-certificates curl iproute2 procps \
 && rm -rf /var/lib/apt/lists/*
COPY . /opt/ztnc
WORKDIR /opt/ztnc
# npm ci builds everything (prepare: TypeScript, the N-API binding, libztintercept.so); the
# global install puts ztnc-service, ztnc-cli, ztnc-idtool and ztnc-intercept on PATH.
RUN npm ci && npm install -g /opt/ztnc && ztnc-cli --help >/dev/null
ENV ZTNC_INTERCEPT_LIBRARY=/opt/ztnc/native/intercept/libztintercept.so \
    ZTNC_REFUSE_BUILTIN_PLANET=1 \
    ZT_HOME=/var/lib/ztnc
WORKDIR /opt/ztnc/docker-test
CMD ["/opt/ztnc/docker-test/root/entrypoint.sh"]
