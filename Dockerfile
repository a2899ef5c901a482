# One image for every role: `serve` (API, Bull Board, viewer), `worker`, `mock-llm`, and
# the one-shot commands (`run`, `analyze`, `demo`):
#   docker build -t rlm-queue .
#   docker run --rm -e RLM_API_TOKEN=… -e REDIS_URL=… -p 3000:3000 rlm-queue serve
# isolated-vm (the sandbox) is a native module compiled by its install script, about two
# minutes: the build stage has the compiler, the runtime stage not.
ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
# Unpinned apt versions: the compiler only builds isolated-vm and never ships.
# hadolint ignore=DL3008
RUN apt-get update \
  && apt-get install -y --no-install-recommends python3 make g++ \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /app

# Dependencies before sources: this layer, isolated-vm's build included, is reused until
# the lockfile or a package.json changes, so an edit to the code rebuilds nothing native.
# Every workspace's package.json is needed for `npm ci` to link the workspaces.
COPY package.json package-lock.json ./
COPY packages/core/package.json packages/core/
COPY packages/sandbox/package.json packages/sandbox/
COPY packages/llm/package.json packages/llm/
COPY packages/mock-llm/package.json packages/mock-llm/
COPY packages/rlm/package.json packages/rlm/
COPY packages/client/package.json packages/client/
COPY packages/queue/package.json packages/queue/
COPY apps/cli/package.json apps/cli/
COPY apps/api/package.json apps/api/
# Without scripts: the root `prepare` builds from sources that are not here yet. The one
# dependency that needs its install script is then built on its own.
RUN npm ci --ignore-scripts --no-audit --no-fund \
  && npm rebuild isolated-vm \
  && npm cache clean --force

# The sources, then what `npm install` builds from them (the root `prepare` script): the
# isolate's runtime bundle and the CLI's JavaScript (apps/cli/dist), so that `rlm` starts
# without compiling TypeScript. prepare.mjs falls back to the sources if the CLI build
# fails; here a missing build fails the image instead. Then the dev dependencies go.
COPY . .
RUN npm run prepare \
  && test -f packages/sandbox/src/generated/isolate-runtime.ts \
  && test -f apps/cli/dist/main.js \
  && npm prune --omit=dev --no-audit --no-fund \
  && npm cache clean --force

FROM ${NODE_IMAGE}
ENV NODE_ENV=production
WORKDIR /app
# Owned by root, run as `node`: the process cannot change its own code.
COPY --from=build /app /app
USER node
# 3000: `serve` (PORT); 8787: `mock-llm --port 8787`.
EXPOSE 3000 8787
# The role is read from the container's command (scripts/healthcheck.mjs): serve and
# mock-llm answer GET /health, a worker needs Redis to answer.
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "scripts/healthcheck.mjs"]
ENTRYPOINT ["node", "apps/cli/bin/rlm.js"]
CMD ["serve"]
