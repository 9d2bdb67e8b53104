# ssews container image: a static binary on distroless, running as a non-root user.
#
#   docker build -t ssews .
#   docker run --rm -p 8080:8080 -p 9090:9090 \
#     -e SSEWS_ROUTES='/news=http://backend:9000/events' ssews

FROM golang:1.26 AS build
WORKDIR /src
# Dependencies first, so that editing the code does not download them again.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o /out/ssews ./cmd/ssews

# distroless/static: CA certificates (for https:// and wss:// upstreams), tzdata and
# /etc/passwd with the nonroot user (uid 65532), no shell.
FROM gcr.io/distroless/static:nonroot
COPY --from=build /out/ssews /ssews
USER nonroot:nonroot
# 8080: clients (SSEWS_LISTEN); 9090: /healthz, /readyz, /metrics (SSEWS_ADMIN_LISTEN).
EXPOSE 8080 9090
# The image has no shell or curl to run a health check with, and ssews needs none:
# orchestrators probe the admin server over HTTP (Kubernetes httpGet probes on
# :9090/healthz for liveness and :9090/readyz for readiness, which turns 503 as soon
# as ssews starts draining).
HEALTHCHECK NONE
# SIGTERM drains (WebSocket clients get close 1001, SSE streams end) for up to
# SSEWS_SHUTDOWN_TIMEOUT (10s); give the container longer than that to stop.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/ssews"]
