import express, { type RequestHandler } from 'express';
import { ApiError } from '../domain/errors.ts';

export const MAX_BODY = '1mb';

/**
 * JSON bodies only, at most 1 MiB. A body of another type is 415; an empty body is allowed (DELETE's reason is
 * optional). The raw bytes are kept on `req.rawBody` for signature checks (Superdesk's HMAC).
 */
export function jsonBody(): RequestHandler[] {
  return [
    (req, _res, next) => {
      const hasBody = Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined;
      if (hasBody && !req.is('application/json') && !req.is('application/*+json')) {
        return next(new ApiError('unsupported_media_type', `Content-Type ${JSON.stringify(req.headers['content-type'] ?? '')} is not JSON; send application/json.`));
      }
      next();
    },
    express.json({
      limit: MAX_BODY,
      type: ['application/json', 'application/*+json'],
      strict: false,
      verify: (req, _res, buf) => {
        (req as unknown as { rawBody: Buffer }).rawBody = buf;
      },
    }),
  ];
}

export function rawBodyOf(req: unknown): Buffer {
  return (req as { rawBody?: Buffer }).rawBody ?? Buffer.alloc(0);
}
