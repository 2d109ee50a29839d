# Multi-stage build of this repository: a builder with the -dev packages, then a slim runtime.
FROM debian:12 AS build
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential cmake pkg-config libuv1-dev rapidjson-dev libhiredis-dev librabbitmq-dev \
      libhttp-parser-dev libgtest-dev libgmock-dev libcurl4-openssl-dev libssl-dev \
      libvirt-dev libyaml-cpp-dev prometheus-cpp-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cmake --preset release -DLAMBDA_TESTS=OFF && cmake --build --preset release -j"$(nproc)"

FROM debian:12-slim AS runtime
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libuv1 libhiredis0.14 librabbitmq4 libhttp-parser2.9 libssl3 libcurl4 curl ca-certificates \
      libvirt0 libyaml-cpp0.7 libprometheus-cpp-core1.0 \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/build/release/api-shim/api-shim /usr/local/bin/api-shim
COPY --from=build /src/build/release/worker/worker /usr/local/bin/worker
COPY --from=build /src/build/release/tools/lambdactl/lambdactl /usr/local/bin/lambdactl
USER nobody
EXPOSE 8080
CMD ["api-shim", "--host", "0.0.0.0"]
