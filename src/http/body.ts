import { isUtf8 } from 'node:buffer';
import express, { type RequestHandler } from 'express';
import { ApiError, type ErrorDetail } from '../domain/errors.ts';

export const MAX_BODY = '1mb';
/** No request body the API takes comes near this (a Superdesk document with associations is about 6 deep). */
export const MAX_JSON_DEPTH = 32;
/** Enough details to fix a body; a body full of bad strings does not get an answer as large as itself. */
const MAX_DETAILS = 20;

const NUL = /\0/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Why a string from a body is refused, or null when it is fine. */
function badText(s: string): string | null {
  if (NUL.test(s)) return 'contains a NUL character (U+0000)';
  if (LONE_SURROGATE.test(s)) return 'contains a lone surrogate (half of a UTF-16 pair); send well-formed Unicode';
  return null;
}

/**
 * Checks a parsed body before any route sees it, without recursion (a hostile body cannot blow the stack):
 * nesting deeper than MAX_JSON_DEPTH is refused, and so is any string (value or key) holding NUL or a lone
 * surrogate, naming its field as validation errors do (`headline`, `image.caption`, `topics.0`).
 */
export function checkBodyShape(body: unknown): void {
  const bad: ErrorDetail[] = [];
  const note = (field: string, s: string, what: 'value' | 'key') => {
    const why = badText(s);
    if (why && bad.length < MAX_DETAILS) bad.push({ field: field || '(body)', message: what === 'key' ? `field name ${why}` : why });
  };
  if (typeof body === 'string') note('', body, 'value');
  const stack: Array<{ value: object; path: string; depth: number }> = [];
  if (body !== null && typeof body === 'object') stack.push({ value: body, path: '', depth: 1 });
  while (stack.length > 0) {
    const { value, path, depth } = stack.pop()!;
    if (depth > MAX_JSON_DEPTH) {
      throw new ApiError('validation_failed', `The body is nested deeper than ${MAX_JSON_DEPTH} levels.`, [
        { field: path || '(body)', message: `at most ${MAX_JSON_DEPTH} levels of nested objects and arrays` },
      ]);
    }
    const entries: Iterable<[string | number, unknown]> = Array.isArray(value) ? value.entries() : Object.entries(value);
    for (const [key, child] of entries) {
      const field = path ? `${path}.${key}` : String(key);
      if (typeof key === 'string') note(field, key, 'key');
      if (typeof child === 'string') note(field, child, 'value');
      else if (child !== null && typeof child === 'object') stack.push({ value: child, path: field, depth: depth + 1 });
    }
  }
  if (bad.length > 0) throw new ApiError('validation_failed', `Invalid ${bad.map((d) => d.field).join(', ')}.`, bad);
}

/** body-parser's errors as the API's: whatever a client sent wrong is a 4xx with the error envelope. */
function bodyError(err: unknown): unknown {
  if (err instanceof ApiError) return err;
  const e = err as { type?: string; status?: number; message?: string };
  switch (e?.type) {
    case 'entity.too.large':
      return new ApiError('payload_too_large');
    case 'entity.parse.failed':
      return new ApiError('invalid_json', `The body is not valid JSON: ${e.message}`);
    case 'encoding.unsupported':
      return new ApiError('unsupported_media_type', `${e.message}; send the body uncompressed or with Content-Encoding gzip, deflate or br.`);
    case 'charset.unsupported':
      return new ApiError('unsupported_media_type', `${e.message}; send UTF-8.`);
  }
  // A corrupt gzip/deflate/br stream, a body shorter or longer than its Content-Length, an aborted upload.
  if (typeof e?.status === 'number' && e.status >= 400 && e.status < 500) {
    return new ApiError('invalid_json', `The body could not be read: ${e.message ?? 'malformed'}.`);
  }
  return err;
}

/**
 * JSON bodies only, UTF-8, at most 1 MiB once decompressed (gzip, deflate and br are accepted), at most
 * MAX_JSON_DEPTH levels deep, with no NUL or lone surrogate in any string. A body of another type is 415; an
 * empty body is allowed (DELETE's reason is optional). The raw bytes are kept on `req.rawBody` for signature
 * checks (Superdesk's HMAC).
 */
export function jsonBody(): RequestHandler[] {
  const parse = express.json({
    limit: MAX_BODY,
    type: ['application/json', 'application/*+json'],
    strict: false,
    verify: (req, _res, buf, encoding) => {
      // RFC 8259: JSON exchanged between systems is UTF-8. Bytes that are not are refused, not silently replaced.
      if (!/^utf-?8$/i.test(encoding)) throw new ApiError('unsupported_media_type', `charset ${JSON.stringify(encoding)} is not supported; send UTF-8.`);
      if (!isUtf8(buf)) throw new ApiError('invalid_json', 'The body is not valid UTF-8.');
      (req as unknown as { rawBody: Buffer }).rawBody = buf;
    },
  });
  return [
    (req, _res, next) => {
      const hasBody = Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined;
      if (hasBody && !req.is('application/json') && !req.is('application/*+json')) {
        return next(new ApiError('unsupported_media_type', `Content-Type ${JSON.stringify(req.headers['content-type'] ?? '')} is not JSON; send application/json.`));
      }
      next();
    },
    (req, res, next) => parse(req, res, (err?: unknown) => next(err === undefined ? undefined : bodyError(err))),
    (req, _res, next) => {
      checkBodyShape(req.body);
      next();
    },
  ];
}

export function rawBodyOf(req: unknown): Buffer {
  return (req as { rawBody?: Buffer }).rawBody ?? Buffer.alloc(0);
}
