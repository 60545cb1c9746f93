# syntax=docker/dockerfile:1
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /deploy-load-check .

# distroless/static carries CA certificates and runs as root, which container
# actions need to write the runner's file commands and workspace.
FROM gcr.io/distroless/static-debian12
COPY --from=build /deploy-load-check /deploy-load-check
ENTRYPOINT ["/deploy-load-check"]
