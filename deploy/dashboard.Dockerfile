# syntax=docker/dockerfile:1
# The dashboard image: its bundle and the web UI's build, run with the dashboard's production
# dependencies only (better-sqlite3's install script fetches the prebuilt addon for this Node), as
# the unprivileged `node` user (uid 1000). Build from the repository root:
#   docker build -f deploy/dashboard.Dockerfile \
#     --build-arg VERSION="$(node -p "require('./package.json').version")" \
#     --build-arg COMMIT="$(git rev-parse --short HEAD)" \
#     --build-arg BUILD_TIME="$(date -u +%Y-%m-%dT%H:%M:%SZ)" -t zai-dashboard:VERSION .
# RUN steps use paths relative to WORKDIR only (deploy/test/dockerfile.test.ts runs them outside Docker).
ARG NODE_VERSION=24

FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /src
COPY . .
RUN npm ci --ignore-scripts --no-audit --no-fund && node scripts/build.mjs dashboard web

FROM node:${NODE_VERSION}-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
COPY packages ./packages
# Only the dashboard workspace's production dependencies; its own code is in the bundle. data/ is
# the database's directory, handed to the runtime user below (Kubernetes mounts a volume instead).
RUN npm ci --omit=dev --no-audit --no-fund --workspace=@zai-proxy/dashboard \
  && rm -rf node_modules/@zai-proxy \
  && mkdir -p data

FROM node:${NODE_VERSION}-bookworm-slim
ARG VERSION=""
ARG COMMIT=unknown
ARG BUILD_TIME=unknown
LABEL org.opencontainers.image.title="zai-dashboard" \
      org.opencontainers.image.description="Dashboard for zai-proxy: metrics history, usage, canary verdict, web UI" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${COMMIT}" \
      org.opencontainers.image.created="${BUILD_TIME}" \
      org.opencontainers.image.licenses="UNLICENSED"
ENV NODE_ENV=production \
    LISTEN_ADDR=:8081 \
    DB_PATH=data/dashboard.db
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=deps --chown=node:node /app/data ./data
COPY --from=build /src/package.json ./
COPY --from=build /src/bin ./bin
COPY --from=build /src/dist/dashboard ./dist/dashboard
COPY --from=build /src/dist/web ./dist/web
USER node
EXPOSE 8081
# Slim images have no curl: Node's fetch, on LISTEN_ADDR's port.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.LISTEN_ADDR||':8081').split(':').pop()+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "bin/zai-proxy.mjs", "dashboard"]
