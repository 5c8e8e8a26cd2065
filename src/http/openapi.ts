import { readFileSync } from 'node:fs';
import { Router } from 'express';
import { z } from 'zod';
import { createDocument, type ZodOpenApiOperationObject, type ZodOpenApiPathsObject, type ZodOpenApiResponseObject } from 'zod-openapi';
import { ERRORS } from '../domain/errors.ts';
import { errorEnvelope, ROUTES, type Auth, type RouteDoc } from './openapi-routes.ts';

type OpenApiDocument = ReturnType<typeof createDocument>;

const SECURITY: Record<Auth, Array<Record<string, string[]>>> = {
  publisher: [{ publisherKey: [] }],
  'publisher-or-signature': [{ publisherKey: [] }, { superdeskSignature: [] }],
  'subscription-token': [{ subscriptionToken: [] }],
};

/** `/api/v1/articles/:id` -> `/api/v1/articles/{id}` and the names of its path parameters. */
export function openApiPath(expressPath: string): { path: string; params: string[] } {
  const params: string[] = [];
  const path = expressPath.replace(/:(\w+)/g, (_m, name: string) => {
    params.push(name);
    return `{${name}}`;
  });
  return { path, params };
}

function operation(route: RouteDoc, params: string[]): ZodOpenApiOperationObject {
  const responses: Record<string, ZodOpenApiResponseObject> = {};
  for (const [code, r] of Object.entries(route.responses)) {
    const type = r.contentType ?? 'application/json';
    responses[code] = {
      description: r.description,
      ...(r.schema || r.contentType ? { content: { [type]: r.schema ? { schema: r.schema } : {} } } : {}),
    };
  }
  for (const code of route.errors ?? []) {
    const status = String(ERRORS[code].status);
    const known = responses[status];
    const description = known ? `${known.description}; \`${code}\`` : `\`${code}\`: ${ERRORS[code].message}`;
    responses[status] = { description, content: { 'application/json': { schema: errorEnvelope } } };
  }
  const path = params.length > 0 ? z.object(Object.fromEntries(params.map((p) => [p, z.string()]))) : undefined;
  return {
    summary: route.summary,
    tags: [route.tag],
    operationId: `${route.method}${route.path.replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ? c.toUpperCase() : ''))}`,
    ...(route.auth ? { security: SECURITY[route.auth] } : {}),
    ...(route.query || path ? { requestParams: { ...(route.query ? { query: route.query } : {}), ...(path ? { path } : {}) } } : {}),
    ...(route.body
      ? { requestBody: { required: route.body.required, content: { 'application/json': { schema: route.body.schema } } } }
      : {}),
    responses,
  };
}

/** The OpenAPI 3.1 document of the HTTP API, built from the route list and the routes' own zod schemas. */
export function openApiDocument(version: string, routes: readonly RouteDoc[] = ROUTES): OpenApiDocument {
  const paths: ZodOpenApiPathsObject = {};
  for (const route of routes) {
    const { path, params } = openApiPath(route.path);
    paths[path] = { ...paths[path], [route.method]: operation(route, params) };
  }
  return createDocument({
    openapi: '3.1.0',
    info: {
      title: 'newspush',
      version,
      description: 'Real-time breaking-news push server. Socket.IO events are described in docs/api.md.',
      license: { name: 'MIT', identifier: 'MIT' },
    },
    paths,
    components: {
      securitySchemes: {
        publisherKey: { type: 'http', scheme: 'bearer', description: 'A key from PUBLISHER_KEYS' },
        subscriptionToken: { type: 'http', scheme: 'bearer', description: 'The token POST /api/v1/push/subscriptions returned' },
        superdeskSignature: { type: 'apiKey', in: 'header', name: 'x-superdesk-signature', description: 'sha1=<hex HMAC-SHA1 of the raw body> with NINJS_HMAC_SECRET' },
      },
    },
  });
}

/** The package's version (package.json sits two levels up from both src/http/ and dist/http/). */
export function packageVersion(): string {
  return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

/** GET /api/v1/openapi.json; the document is built once, on the first request. */
export function openApiRoute(version = packageVersion()): Router {
  const r = Router();
  let doc: OpenApiDocument | null = null;
  r.get('/api/v1/openapi.json', (_req, res) => {
    res.json((doc ??= openApiDocument(version)));
  });
  return r;
}
