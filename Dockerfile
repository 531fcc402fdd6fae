# syntax=docker/dockerfile:1
# matrix-webhook-bridge container image.
#
#   docker build -t matrix-webhook-bridge .
#   docker run --rm -v "$PWD/data:/data" matrix-webhook-bridge --generate-registration \
#     -r /data/registration.yml --url http://webhook-bridge:9993
#   cp config.sample.yml data/config.yml   # edit it: homeserver, store.encryptionKey,
#                                          # bridge.bindAddress: 0.0.0.0, store.path: /data/bridge.db
#   docker run -d --name webhook-bridge -v "$PWD/data:/data" -p 9993:9993 matrix-webhook-bridge
#
# /data holds config.yml, registration.yml, the SQLite store and (with encryption.enabled) the
# crypto state, e.g. encryption.storagePath: /data/crypto; it must be writable by uid 1000
# (the image's `node` user). The image has no Python, so --demo does not work in it.

ARG NODE_IMAGE=node:24-bookworm-slim

# ---- build: all dependencies, compile TypeScript, then drop the dev dependencies ----
FROM ${NODE_IMAGE} AS build
WORKDIR /app
# vendor/ and packages/ must be present before `npm install`: package.json's overrides point
# canvas and sqlite3 at stand-ins in vendor/, and @matrix-org/matrix-sdk-crypto-nodejs at
# packages/crypto-wasm-node (the WebAssembly crypto, docs/encryption.md), which npm installs as
# the symlink node_modules/@matrix-org/matrix-sdk-crypto-nodejs -> ../../packages/crypto-wasm-node
# and builds in the `prepare` script.
COPY package.json package-lock.json ./
COPY vendor ./vendor
COPY packages ./packages
# `npm install`, not `npm ci`: the lock omits entries for optional platform packages of rollup
# (a dev dependency) that the registry mirror does not serve, which `npm ci` refuses.
RUN npm install --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
RUN npm run build \
 && npm prune --omit=dev --no-audit --no-fund \
 && node -e "require('@matrix-org/matrix-sdk-crypto-nodejs'); require('better-sqlite3')(':memory:').close()"

# ---- runtime: node, the compiled bridge and its production dependencies only ----
FROM ${NODE_IMAGE}
ENV NODE_ENV=production
WORKDIR /app
# Owned by root and read-only to the `node` user that runs the bridge. vendor/ and packages/ sit
# at the same path relative to node_modules as in the build stage, so the overrides' symlinks
# still resolve.
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/vendor ./vendor
COPY --from=build /app/packages ./packages
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY config.sample.yml registration.sample.yml ./
RUN mkdir -p /data && chown node:node /data
USER node
WORKDIR /data
VOLUME ["/data"]
# Appservice transactions from the homeserver, inbound webhooks, /health and /metrics.
EXPOSE 9993
# Assumes the config's bridge.port is 9993 and bridge.bindAddress lets 127.0.0.1 in
# (0.0.0.0, :: or 127.0.0.1).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:9993/health', { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "--max-old-space-size=512", "--max-semi-space-size=8", "/app/dist/main.js"]
CMD ["-c", "/data/config.yml", "-r", "/data/registration.yml"]
