# One image for every role: `serve` (API + Bull Board), `worker`, `mock-llm`, `run`.
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY . .
# isolated-vm ships a prebuilt Linux x64 binary; its install script is denied in
# package.json (allowScripts), so no compiler is needed in the image.
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
USER node
ENTRYPOINT ["node", "apps/cli/bin/rlm.js"]
CMD ["serve"]
