# The news push server on Node 24 LTS, shipped as compiled JavaScript.
#   Build: docker build -t newspush .     Run: docker run -p 3000:3000 newspush
# Stage 1 compiles src/ to dist/ with the dev dependencies (TypeScript); stage 2 holds only the production
# dependencies, dist/ and the static pages, and runs as the unprivileged `node` user.

FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

FROM node:24-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
# Dependencies first, so a code change does not reinstall them.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY public ./public
# The newspush CLI (runs dist/cli here): docker compose exec app1 node bin/newspush.mjs follow world
COPY bin ./bin
COPY LICENSE ./

USER node
EXPOSE 3000
# Ready means storage reachable and not shutting down (GET /readyz); PORT may be changed at run time.
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# node is PID 1 and handles SIGTERM itself (src/main.ts): it stops taking work and exits 0 within 10 s.
CMD ["node", "dist/main.js"]
