# syntax=docker/dockerfile:1
# The migration image: the migrator and every migration file. Run by the Kubernetes Job in
# deploy/k8s/base/migrate-job.yaml as the owner role (DATABASE_URL from a Secret):
#
#   docker build -f deploy/docker/migrate.Dockerfile -t suite/migrate:dev .
#   docker run --rm -e DATABASE_URL=postgresql://suite_owner:...@db/suite suite/migrate:dev up
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
RUN bazel build -c opt //shared/db:migrate \
    && install -D -m 0755 bazel-bin/shared/db/migrate/migrate /out/migrate \
    && mkdir -p /out/migrations \
    && cd migrations && find . -name '*.sql' -exec install -D -m 0644 {} /out/migrations/{} \;

FROM debian:12-slim
ENV DEBIAN_FRONTEND=noninteractive
RUN apt-get update -q && apt-get install -y -q --no-install-recommends \
      libabsl20220623 libpqxx-6.4 libpq5 libssl3 ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 suite \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin suite
COPY --from=build /out/migrate /app/migrate
COPY --from=build /out/migrations /app/migrations
USER 10001:10001
# The migrator reads migrations/ of the working directory.
WORKDIR /app
ENTRYPOINT ["/app/migrate"]
CMD ["status"]
