# Everything the compose stack runs, from Debian packages on one base image: the Redis and
# RabbitMQ servers are targets of this file (no registry image is needed but the base, which
# tests/compose/compose_test.sh makes with debootstrap when it is missing), then a builder with
# the -dev packages, then the slim runtime of our three binaries (the default target).
# The legacy builder (docker.io 20.10 has no BuildKit) runs every stage before its target, so
# the servers come first: building one of them never builds ours.
FROM debian:bookworm-slim AS redis
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      redis-server \
    && rm -rf /var/lib/apt/lists/*
USER redis
WORKDIR /var/lib/redis
EXPOSE 6379
# Debian's redis listens on loopback in protected mode; in a container the network is the fence.
# appendfsync always: an accepted action survives a Redis crash. Small stream nodes: see
# docs/operations.md (an instance's streams are short; the default node is 4 KB each).
# maxmemory with noeviction: a full Redis refuses writes (503, nothing changed), never drops keys.
CMD ["redis-server", "--bind", "0.0.0.0", "--protected-mode", "no", "--dir", "/var/lib/redis", \
     "--appendonly", "yes", "--appendfsync", "always", "--stream-node-max-bytes", "512", \
     "--maxmemory", "1gb", "--maxmemory-policy", "noeviction"]

FROM debian:bookworm-slim AS rabbitmq
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      rabbitmq-server \
    && rm -rf /var/lib/apt/lists/* \
    && printf 'loopback_users.guest = false\nlisteners.tcp.default = 5672\nclassic_queue.default_version = 2\n' >/etc/rabbitmq/rabbitmq.conf \
    && echo '[].' >/etc/rabbitmq/enabled_plugins
# The server itself, not the /usr/sbin wrapper (which switches user and does not pass SIGTERM
# on): it stops cleanly on `docker stop`. Logs go to stdout. The node name needs a fixed
# hostname (compose sets `hostname: rabbitmq`).
USER rabbitmq
ENV HOME=/var/lib/rabbitmq PATH=/usr/lib/rabbitmq/bin:/usr/sbin:/usr/bin:/sbin:/bin RABBITMQ_LOGS=-
EXPOSE 5672
CMD ["/usr/lib/rabbitmq/bin/rabbitmq-server"]

FROM debian:bookworm-slim AS build
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential cmake pkg-config libuv1-dev rapidjson-dev libhiredis-dev librabbitmq-dev \
      libhttp-parser-dev libgtest-dev libgmock-dev libcurl4-openssl-dev libssl-dev \
      libvirt-dev libyaml-cpp-dev prometheus-cpp-dev libjemalloc-dev libsystemd-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cmake --preset release && cmake --build --preset release -j"$(nproc)" --target api-shim worker lambdactl

FROM debian:bookworm-slim AS runtime
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libuv1 libhiredis0.14 librabbitmq4 libhttp-parser2.9 libssl3 libcurl4 curl ca-certificates \
      libvirt0 libyaml-cpp0.7 libprometheus-cpp-core1.0 libjemalloc2 libsystemd0 \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/build/release/api-shim/api-shim /usr/local/bin/api-shim
COPY --from=build /src/build/release/worker/worker /usr/local/bin/worker
COPY --from=build /src/build/release/tools/lambdactl/lambdactl /usr/local/bin/lambdactl
# OCI image labels; scripts/package's version when built with --build-arg LAMBDA_VERSION=...
ARG LAMBDA_VERSION=dev
ARG LAMBDA_REVISION=unknown
LABEL org.opencontainers.image.title="lambda" \
      org.opencontainers.image.description="Lambda control plane: api-shim, worker and lambdactl" \
      org.opencontainers.image.version="$LAMBDA_VERSION" \
      org.opencontainers.image.revision="$LAMBDA_REVISION" \
      org.opencontainers.image.base.name="debian:bookworm-slim"
# nobody, numerically, so that an orchestrator's runAsNonRoot can check it.
USER 65534:65534
EXPOSE 8080
# The shim's /healthz by default; a worker sets HEALTH_PORT to its --worker-http-port.
HEALTHCHECK --interval=5s --timeout=3s --retries=5 \
  CMD curl -fsS "http://127.0.0.1:${HEALTH_PORT:-8080}/healthz" || exit 1
CMD ["api-shim", "--host", "0.0.0.0"]
