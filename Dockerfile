# syntax=docker/dockerfile:1
# Perennial on the CPU: one image for the API (default), the orchestration worker
# and the migrate step; docker-compose.yml picks the entry point with `command:`.
# GPU training workers use Dockerfile.trainer.
#
#   docker build -t perennial .
#   docker run perennial node --import tsx platform/worker.ts

ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS deps
WORKDIR /app
# Compilers for any native module that has no prebuilt binary for this platform;
# pip for native TensorFlow's wheel (NATIVE_TRAINING below).
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-pip make g++ ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
COPY scripts/setup-native.ts scripts/
# Runtime dependencies only (tsx is one: the TypeScript runs as is, no build step).
# @tensorflow/tfjs-node and tfjs-node-gpu are optional: their install scripts
# download libtensorflow, and when that fails npm leaves them out. The API and the
# orchestration worker only predict, on WASM, so the image has no native TensorFlow
# (about 800 MB) unless it is built for CPU training (docker-compose's trainer-cpu):
#   docker build --build-arg NATIVE_TRAINING=true -t perennial .
# which runs npm run setup:native (TF 2.21 from PyPI's tensorflow-cpu wheel).
ARG NATIVE_TRAINING=false
RUN npm ci --omit=dev --no-audit --no-fund \
 && rm -rf node_modules/@tensorflow/tfjs-node-gpu node_modules/@tensorflow/tfjs-node \
 && if [ "$NATIVE_TRAINING" = true ]; then \
      npm_config_omit=dev npm run setup:native \
      && rm -rf node_modules/@tensorflow/tfjs-node-gpu node_modules/@tensorflow/tfjs-node/deps/include .tools; \
    fi \
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
CMD ["node", "--import", "tsx", "platform/api.ts"]
