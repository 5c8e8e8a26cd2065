import { isUtf8 } from 'node:buffer';
import express, { type RequestHandler } from 'express';
import { ApiError, type ErrorDetail } from '../domain/errors.ts';

export const MAX_BODY = '1mb';
/** No request body the API takes comes near this (a Superdesk document with associations is about 6 deep). */
export const MAX_JSON_DEPTH = 32;
/** Enough details to fix a body; a body full of bad strings does not get an answer as large as itself. */
const MAX_DETAILS = 20;

/** String.prototype.isWellFormed (ES2024, in Node 20): native and fast, where a regex over 1 MiB takes ~20 ms. */
const isWellFormed = (s: string) => (s as unknown as { isWellFormed(): boolean }).isWellFormed();

/** Why a string from a body is refused, or null when it is fine. */
function badText(s: string): string | null {
  if (s.includes('\0')) return 'contains a NUL character (U+0000)';
  if (!isWellFormed(s)) return 'contains a lone surrogate (half of a UTF-16 pair); send well-formed Unicode';
  return null;
}

/** A container met while walking a body; its path is spelled out only when something in it is refused. */
interface Frame {
  value: object;
  parent: Frame | null;
  key: string;
  depth: number;
}

const pathOf = (frame: Frame | null, key?: string | number): string => {
  const parts: string[] = key === undefined ? [] : [String(key)];
  for (let f = frame; f && f.parent; f = f.parent) parts.push(f.key);
  return parts.reverse().join('.');
};

/**
 * Checks a parsed body before any route sees it, without recursion (a hostile body cannot blow the stack):
 * nesting deeper than MAX_JSON_DEPTH is refused, and so is any string (value or key) holding NUL or a lone
 * surrogate, naming its field as validation errors do (`headline`, `image.caption`, `topics.0`).
 */
export function checkBodyShape(body: unknown): void {
  const bad: ErrorDetail[] = [];
  const note = (s: string, frame: Frame | null, key: string | number | undefined, what: 'value' | 'key') => {
    const why = badText(s);
    if (why && bad.length < MAX_DETAILS) bad.push({ field: pathOf(frame, key) || '(body)', message: what === 'key' ? `field name ${why}` : why });
  };
  if (typeof body === 'string') note(body, null, undefined, 'value');
  const stack: Frame[] = [];
  if (body !== null && typeof body === 'object') stack.push({ value: body, parent: null, key: '', depth: 1 });
  while (stack.length > 0) {
    const frame = stack.pop()!;
    if (frame.depth > MAX_JSON_DEPTH) {
      throw new ApiError('validation_failed', `The body is nested deeper than ${MAX_JSON_DEPTH} levels.`, [
        { field: pathOf(frame) || '(body)', message: `at most ${MAX_JSON_DEPTH} levels of nested objects and arrays` },
      ]);
    }
    const value = frame.value as Record<string, unknown>;
    const array = Array.isArray(value);
    const keys = array ? null : Object.keys(value);
    const n = array ? (value as unknown as unknown[]).length : keys!.length;
    for (let i = 0; i < n; i++) {
      const key = array ? i : keys![i]!;
      if (!array) note(key as string, frame, key, 'key');
      const child = value[key];
      if (typeof child === 'string') note(child, frame, key, 'value');
      else if (child !== null && typeof child === 'object') stack.push({ value: child, parent: frame, key: String(key), depth: frame.depth + 1 });
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
    (req, res, next) =>
      parse(req, res, (err?: unknown) => {
        if (err === undefined) return next();
        // Read what is left of a refused body (a bomb stops being inflated at the limit): a connection closed with
        // unread bytes is reset by the kernel, and the client would get ECONNRESET instead of the 4xx answer.
        req.unpipe();
        req.resume();
        next(bodyError(err));
      }),
    (req, _res, next) => {
      checkBodyShape(req.body);
      next();
    },
  ];
}

export function rawBodyOf(req: unknown): Buffer {
  return (req as { rawBody?: Buffer }).rawBody ?? Buffer.alloc(0);
}
