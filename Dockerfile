# syntax=docker/dockerfile:1
# Perennial on the CPU: one image for the API (default), the orchestration worker
# and the migrate step; docker-compose.yml picks the entry point with `command:`.
# GPU training workers use Dockerfile.trainer.
#
#   docker build -t perennial .
#   docker run perennial node_modules/.bin/tsx platform/worker.ts

ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS deps
WORKDIR /app
# Compilers for any native module that has no prebuilt binary for this platform.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
# Runtime dependencies only (tsx is one: the TypeScript runs as is, no build step).
# @tensorflow/tfjs-node and tfjs-node-gpu are optional: their install scripts
# download libtensorflow, and when that fails npm leaves them out and the backend
# falls back to WASM. The GPU build is useless without CUDA, so it is dropped here.
RUN npm ci --omit=dev --no-audit --no-fund \
 && rm -rf node_modules/@tensorflow/tfjs-node-gpu \
 && npm cache clean --force

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    PORT=3000 \
    PERENNIAL_DATA_DIR=/data
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
# Source stays owned by root: the process can read its code but not change it.
COPY . .
# A named volume mounted at /data starts with this directory's owner, so the
# non-root user can write artifacts to it.
RUN mkdir -p /data && chown node:node /data
USER node
EXPOSE 3000
CMD ["node_modules/.bin/tsx", "platform/api.ts"]
