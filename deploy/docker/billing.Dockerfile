# syntax=docker/dockerfile:1
# The billing service image. Build from the repository root:
#
#   podman build -f deploy/docker/billing.Dockerfile \
#     --ignorefile deploy/docker/billing.Dockerfile.dockerignore -t suite/billing:dev .
#
# (tools/images builds all five; `docker build` works too and reads the .dockerignore beside
# this file by itself.) Stages:
#   build     debian:12 with the build packages of tools/install-deps; bazel build -c opt
#   runtime   debian:12-slim with only the shared libraries the binary loads, user 10001
#   prebuilt  runtime + a binary already built on the host: `--target prebuilt` with a build
#             context holding the binary `billing` (what the container tests use; no compiler runs)
#   (last)    runtime + the binary of the build stage: the image that ships
# Nothing in the runtime writes to its root file system: run it with --read-only
# (readOnlyRootFilesystem in deploy/k8s).
FROM debian:12 AS build
ENV DEBIAN_FRONTEND=noninteractive
# The build packages of tools/install-deps (APT_PACKAGES without PostgreSQL and PgBouncer,
# which only the tests need).
RUN apt-get update -q && apt-get install -y -q --no-install-recommends \
      bazel-bootstrap g++ pkg-config ca-certificates \
      protobuf-compiler protobuf-compiler-grpc libprotobuf-dev libgrpc++-dev \
      libabsl-dev libpqxx-dev libpq-dev libsodium-dev libssl-dev \
      nlohmann-json3-dev libcpp-httplib-dev libgtest-dev libgmock-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# All five binaries in one step, written identically in the five Dockerfiles: the image
# builder caches this layer, so building every image (tools/images) compiles the suite once.
RUN bazel build -c opt //services/identity:identity_server //services/billing:billing_server \
      //services/questions:questions_server //migrations:migrate //tools/purge \
    && install -D -m 0755 bazel-bin/services/identity/identity_server /out/identity \
    && install -D -m 0755 bazel-bin/services/billing/billing_server /out/billing \
    && install -D -m 0755 bazel-bin/services/questions/questions_server /out/questions \
    && install -D -m 0755 bazel-bin/migrations/migrate /out/migrate \
    && install -D -m 0755 bazel-bin/tools/purge/purge /out/purge \
    && cd migrations && find . -name '*.sql' -exec install -D -m 0644 {} /out/migrations/{} \; \
    && bazel shutdown

FROM debian:12-slim AS runtime
ENV DEBIAN_FRONTEND=noninteractive
# Runtime libraries only (see ldd of the binary): gRPC (with reflection), Protobuf, Abseil,
# libpqxx/libpq, libsodium, OpenSSL, cpp-httplib (metrics/webhook HTTP), and what they pull in.
# No compiler, no headers: --no-install-recommends keeps the -dev packages out.
RUN apt-get update -q && apt-get install -y -q --no-install-recommends \
      libgrpc++1.51 libgrpc29 libprotobuf32 libabsl20220623 \
      libpqxx-6.4 libpq5 libsodium23 libssl3 libcpp-httplib0.11 \
      libre2-9 libc-ares2 zlib1g ca-certificates \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/* /var/log/apt /var/log/dpkg.log \
    && groupadd --system --gid 10001 suite \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin suite
USER 10001:10001
WORKDIR /app
# gRPC and the Stripe webhook HTTP port; Prometheus /metrics on the port ${PREFIX}_METRICS_PORT
# names (9090 in deploy/k8s).
EXPOSE 50052 8082 9090
ENTRYPOINT ["/app/billing"]

FROM runtime AS prebuilt
COPY --chmod=0755 billing /app/billing

FROM runtime
COPY --from=build /out/billing /app/billing
