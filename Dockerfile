# The news push server. Build: docker build -t newspush .   Run: docker run -p 3000:3000 newspush
FROM node:20-bookworm-slim

ENV NODE_ENV=production
WORKDIR /app

# Dependencies first, so code changes do not reinstall them. tsx (a runtime dependency) runs the TypeScript.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

COPY tsconfig.json ./
COPY src ./src
COPY public ./public

USER node
EXPOSE 3000
# node itself is PID 1's child of nothing: it receives SIGTERM directly and shuts down gracefully.
CMD ["node", "--import", "tsx", "src/main.ts"]
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
