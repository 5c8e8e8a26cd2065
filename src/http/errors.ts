import type { ErrorRequestHandler, RequestHandler } from 'express';
import { ApiError, errorBody, toApiError } from '../domain/errors.ts';
import type { Logger } from '../ops/logger.ts';
import type { Metrics } from '../ops/metrics.ts';

/** HTTP-only errors (body-parser's, path decoding); everything else is mapped by the domain's toApiError. */
function bodyParserError(err: unknown): ApiError | null {
  // Express could not percent-decode a path parameter (`/api/v1/articles/%E0%A4%A`).
  if (err instanceof URIError) return new ApiError('validation_failed', 'The URL path is not valid percent-encoded UTF-8.', [{ field: '(path)', message: err.message }]);
  const e = err as { type?: string } | null;
  if (e?.type === 'entity.too.large') return new ApiError('payload_too_large');
  if (e?.type === 'entity.parse.failed') return new ApiError('invalid_json', `The body is not valid JSON: ${(err as Error).message}`);
  if (e?.type === 'encoding.unsupported' || e?.type === 'charset.unsupported') return new ApiError('unsupported_media_type', (err as Error).message);
  return null;
}

export function errorHandler(logger: Logger, metrics: Metrics): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const api = bodyParserError(err) ?? toApiError(err);
    if (api.status >= 500) logger.error({ err, method: req.method, url: req.originalUrl }, 'request failed');
    else logger.debug({ code: api.code, method: req.method, url: req.originalUrl }, api.message);
    metrics.writesRejected.inc({ code: api.code });
    if (res.headersSent) return;
    for (const [k, v] of Object.entries(api.headers ?? {})) res.setHeader(k, v);
    res.status(api.status).json(errorBody(api));
  };
}

export const notFoundHandler: RequestHandler = (req, _res, next) => {
  next(new ApiError('not_found', `No route for ${req.method} ${req.path}.`));
};
