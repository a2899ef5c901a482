# One image for every role: `serve` (API, Bull Board, viewer), `worker`, `mock-llm`, `run`.
# isolated-vm (the sandbox) is a native module built from source by its install script
# (allowed in package.json): the build stage has the compiler, the runtime stage not.
FROM node:20-bookworm-slim AS build
RUN apt-get update \
  && apt-get install -y --no-install-recommends python3 make g++ \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY . .
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /app /app
USER node
ENTRYPOINT ["node", "apps/cli/bin/rlm.js"]
CMD ["serve"]
