# syntax=docker/dockerfile:1
# Multi-stage: build with the official Swift image for Debian 12, run on bookworm-slim with only
# the C libraries the binary links (scripts/check-runtime-libs.sh checks that in CI).

FROM swift:6.3.1-bookworm AS build
WORKDIR /src
RUN apt-get update \
 && apt-get install -y --no-install-recommends libmicrohttpd-dev=0.9.75-6 libopenblas-dev=0.3.21+ds-4 libpcap-dev=1.10.3-1 pkg-config=1.8.1-1 \
 && rm -rf /var/lib/apt/lists/*
COPY Package.swift ./
COPY Sources ./Sources
COPY bench/Sources ./bench/Sources
COPY scripts ./scripts
RUN scripts/build-release.sh /dist

FROM debian:12.11-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends libmicrohttpd12=0.9.75-6 libopenblas0-pthread=0.3.21+ds-4 libpcap0.8=1.10.3-1 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin ae
COPY --from=build /dist/ae-server /dist/ae /usr/local/bin/
COPY config/server.json /etc/ae/server.json
# OpenBLAS threads would compete with the server's own; the model comes from a mounted volume.
ENV OPENBLAS_NUM_THREADS=1 \
    AE_MODEL=/models/model.safetensors
USER 10001
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["/usr/local/bin/ae-server", "--config", "/etc/ae/server.json", "--healthcheck"]
ENTRYPOINT ["/usr/local/bin/ae-server"]
CMD ["--config", "/etc/ae/server.json"]
