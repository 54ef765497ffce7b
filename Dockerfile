# One image for the three processes: app (default), worker-web and scheduler
# (`node interfaces/process/main.js <role>`, see docker-compose.yml).

# --- build: compile TypeScript to dist/ -------------------------------------------------------
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
# tsc emits only .js; assets that live beside the code (dashboard files, SQL, JSON) are copied as they are.
RUN npm run build \
 && for dir in domain application infrastructure projections interfaces; do \
      if [ -d "$dir" ]; then find "$dir" -type f ! -name '*.ts' -exec cp --parents {} dist/ \; ; fi; \
    done

# --- runtime: production dependencies and compiled code only, as the non-root `node` user -----
FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production \
    PORT=8003 \
    NODE_OPTIONS=--enable-source-maps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
# dist/ holds domain/, application/, ...: package.json "imports" (#domain/* -> ./domain/*) resolve in /app.
COPY --from=build /src/dist/ ./
# Not TypeScript, so not in dist/: the console's static files and the CLI launcher (`npx chatbot ...`).
COPY --from=build /src/interfaces/web/static/ ./interfaces/web/static/
COPY --from=build /src/bin/ ./bin/
# The code stays root-owned and read-only for the process; only the embedded-mode data dir is writable.
RUN mkdir -p /app/data && chown node:node /app/data
USER node
EXPOSE 8003
# Node images have no curl; fetch is built in. Meaningful for the `app` role (worker-web and scheduler
# serve no HTTP, docker-compose.yml turns this check off for them).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8003) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "interfaces/process/main.js", "app"]
