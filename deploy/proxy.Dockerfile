# syntax=docker/dockerfile:1
# The proxy image: the bundle built with the dev dependencies, run with the production ones only,
# as the unprivileged `node` user (uid 1000). Build from the repository root:
#   docker build -f deploy/proxy.Dockerfile \
#     --build-arg VERSION="$(node -p "require('./package.json').version")" \
#     --build-arg COMMIT="$(git rev-parse --short HEAD)" \
#     --build-arg BUILD_TIME="$(date -u +%Y-%m-%dT%H:%M:%SZ)" -t zai-proxy:VERSION .
# RUN steps use paths relative to WORKDIR only (deploy/test/dockerfile.test.ts runs them outside Docker).
ARG NODE_VERSION=24

FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /src
COPY . .
RUN npm ci --ignore-scripts --no-audit --no-fund && node scripts/build.mjs proxy

FROM node:${NODE_VERSION}-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
COPY packages ./packages
# Only the proxy workspace's production dependencies; its own code is in the bundle.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund --workspace=@zai-proxy/proxy \
  && rm -rf node_modules/@zai-proxy

FROM node:${NODE_VERSION}-bookworm-slim
ARG VERSION=""
ARG COMMIT=unknown
ARG BUILD_TIME=unknown
LABEL org.opencontainers.image.title="zai-proxy" \
      org.opencontainers.image.description="LLM gateway for Z.AI's GLM models: Anthropic Messages and OpenAI Chat Completions" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${COMMIT}" \
      org.opencontainers.image.created="${BUILD_TIME}" \
      org.opencontainers.image.licenses="UNLICENSED"
# An empty VERSION falls back to the package version (bin/zai-proxy.mjs); /health and
# zai_proxy_build_info report it.
ENV NODE_ENV=production \
    PORT=8080 \
    ZAI_PROXY_VERSION="${VERSION}" \
    ZAI_PROXY_COMMIT="${COMMIT}" \
    ZAI_PROXY_BUILD_TIME="${BUILD_TIME}"
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /src/package.json ./
COPY --from=build /src/bin ./bin
COPY --from=build /src/dist/proxy ./dist/proxy
USER node
EXPOSE 8080
# Slim images have no curl: Node's fetch. /healthz is liveness (the process serves), not readiness.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "bin/zai-proxy.mjs", "proxy"]
