# syntax=docker/dockerfile:1
# The questions service image. Build from the repository root:
#
#   docker build -f deploy/docker/questions.Dockerfile -t suite/questions:dev .
#
# Stage 1 builds with Debian's packages exactly as tools/install-deps does (offline-capable
# Bazel 4 from bazel-bootstrap, system gRPC/Protobuf/Abseil/libpqxx); stage 2 is debian:12-slim
# with only the shared libraries the binary loads, and runs as an unprivileged user.
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
RUN bazel build -c opt //services/questions:questions_server \
    && install -D -m 0755 bazel-bin/services/questions/questions_server /out/questions

FROM debian:12-slim
ENV DEBIAN_FRONTEND=noninteractive
# Runtime libraries only (see ldd of the binary): gRPC (with reflection), Protobuf, Abseil,
# libpqxx/libpq, libsodium, OpenSSL, cpp-httplib (metrics/webhook HTTP), and what they pull in.
RUN apt-get update -q && apt-get install -y -q --no-install-recommends \
      libgrpc++1.51 libgrpc29 libprotobuf32 libabsl20220623 \
      libpqxx-6.4 libpq5 libsodium23 libssl3 libcpp-httplib0.11 \
      libre2-9 libc-ares2 zlib1g ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 suite \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin suite
COPY --from=build /out/questions /app/questions
USER 10001:10001
WORKDIR /app
# gRPC; Prometheus /metrics on the port ${PREFIX}_METRICS_PORT names (9090 in deploy/k8s).
EXPOSE 50053 9090
ENTRYPOINT ["/app/questions"]
