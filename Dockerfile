# syntax=docker/dockerfile:1
# paperboy's image: a static binary on distroless (CA certificates, tzdata, /etc/passwd; no shell, no package
# manager), running as an unprivileged user, with its SQLite store on the /data volume.
#
#   docker build --build-arg VERSION=$(git describe --tags --always) --build-arg REVISION=$(git rev-parse HEAD) -t paperboy .
#   docker run -d -v paperboy-data:/data -e DISCORD_BOT_TOKEN_FILE=/run/secrets/discord paperboy
#
# The binary is built by .ci/build-static, the script CI builds and tests it with, so the two cannot drift.

FROM golang:1.26-bookworm AS build
WORKDIR /src
# Dependencies first: this layer is rebuilt only when go.mod or go.sum change.
COPY go.mod go.sum ./
RUN go mod download && go mod verify
COPY . .
ARG VERSION=""
ARG REVISION=""
RUN --mount=type=cache,target=/root/.cache/go-build \
    VERSION="$VERSION" REVISION="$REVISION" .ci/build-static /out/paperboy \
 && mkdir -p /out/data

# distroless/static's nonroot variant: uid/gid 65532, ca-certificates, tzdata (the binary also embeds tzdata).
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/paperboy /paperboy
COPY deploy/paperboy.toml /etc/paperboy/paperboy.toml
# An empty /data owned by the runtime user, so that a named volume mounted there is created writable for it.
COPY --from=build --chown=65532:65532 /out/data /data
USER 65532:65532
# The working directory is the volume: the configuration's relative store path (paperboy.db) lands on it, and so
# would any other relative path.
WORKDIR /data
ENV PAPERBOY_CONFIG=/etc/paperboy/paperboy.toml
VOLUME ["/data"]
# /healthz and /metrics ([http] listen in /etc/paperboy/paperboy.toml).
EXPOSE 9090
HEALTHCHECK --interval=30s --timeout=10s --start-period=1m --retries=3 CMD ["/paperboy", "healthcheck"]
ENTRYPOINT ["/paperboy"]
CMD ["run"]
