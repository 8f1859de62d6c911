# syntax=docker/dockerfile:1
# The retention image: the purge binary (tools/purge). Run by the Kubernetes CronJob in
# deploy/k8s/base/retention-cronjob.yaml as the role suite_retention (DATABASE_URL from a
# Secret, periods from the ConfigMap retention-config):
#
#   docker build -f deploy/docker/purge.Dockerfile -t suite/purge:dev .
#   docker run --rm -e DATABASE_URL=postgresql://suite_retention:...@db/suite suite/purge:dev
FROM debian:12 AS build
ENV DEBIAN_FRONTEND=noninteractive
RUN apt-get update -q && apt-get install -y -q --no-install-recommends \
      bazel-bootstrap g++ pkg-config ca-certificates \
      protobuf-compiler protobuf-compiler-grpc libprotobuf-dev libgrpc++-dev \
      libabsl-dev libpqxx-dev libpq-dev libsodium-dev libssl-dev \
      nlohmann-json3-dev libcpp-httplib-dev libgtest-dev libgmock-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN bazel build -c opt //tools/purge \
    && install -D -m 0755 bazel-bin/tools/purge/purge /out/purge

FROM debian:12-slim
ENV DEBIAN_FRONTEND=noninteractive
RUN apt-get update -q && apt-get install -y -q --no-install-recommends \
      libabsl20220623 libpqxx-6.4 libpq5 libssl3 ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 suite \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin suite
COPY --from=build /out/purge /app/purge
USER 10001:10001
ENTRYPOINT ["/app/purge"]
