/**
 * The one catalogue of errors the API can answer with: a stable code, its HTTP status and a default message, and
 * the one envelope every channel answers errors with (HTTP bodies, Socket.IO acks and connect errors). Anything
 * thrown that is neither an ApiError nor a StoreUnavailableError becomes `internal_error` (toApiError).
 */
export const ERRORS = {
  validation_failed: { status: 400, message: 'The request is not valid.' },
  invalid_json: { status: 400, message: 'The body is not valid JSON.' },
  unauthorized: { status: 401, message: 'A valid credential is required.' },
  forbidden: { status: 403, message: 'This credential may not do that.' },
  not_found: { status: 404, message: 'Not found.' },
  stale_version: { status: 409, message: 'A newer or different version of this article exists.' },
  retracted: { status: 409, message: 'The article has been retracted.' },
  conflict: { status: 409, message: 'The request conflicts with the current state.' },
  payload_too_large: { status: 413, message: 'The body is larger than 1 MiB.' },
  unsupported_media_type: { status: 415, message: 'Send JSON with Content-Type: application/json.' },
  rate_limited: { status: 429, message: 'Too many requests; retry later.' },
  internal_error: { status: 500, message: 'Something went wrong on our side.' },
  unavailable: { status: 503, message: 'The service cannot take this request right now; retry later.' },
} as const;

export type ErrorCode = keyof typeof ERRORS;

export interface ErrorDetail {
  /** Dotted path of the offending field, e.g. `image.url` or `topics.2`. */
  field: string;
  message: string;
}

export class ApiError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message?: string,
    readonly details?: ErrorDetail[],
    /** Extra top-level fields of the error body, e.g. `currentVersion` on stale_version. */
    readonly extra?: Record<string, unknown>,
    /** Response headers to set, e.g. Retry-After. */
    readonly headers?: Record<string, string>,
  ) {
    super(message ?? ERRORS[code].message);
    this.name = 'ApiError';
    this.status = ERRORS[code].status;
  }
}

/** The backing service (Redis) cannot serve right now: answered as 503 `unavailable`, never a silent loss. */
export class StoreUnavailableError extends Error {
  constructor(cause?: unknown) {
    super(`storage unavailable${cause instanceof Error ? `: ${cause.message}` : ''}`, { cause });
    this.name = 'StoreUnavailableError';
  }
}

/** Turns anything thrown into the ApiError it is answered with. */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof StoreUnavailableError) return new ApiError('unavailable', 'Storage is unavailable; retry later.', undefined, undefined, { 'Retry-After': '1' });
  return new ApiError('internal_error');
}

/** What an error answer carries: `{ code, message, details?, ...extra }` (the inside of the envelope). */
export type ErrorPayload = { code: ErrorCode; message: string; details?: ErrorDetail[] } & Record<string, unknown>;

/** The JSON envelope every error answer has: `{ "error": { "code", "message", "details"? } }`. */
export function errorBody(err: ApiError): { error: ErrorPayload } {
  return {
    error: {
      code: err.code,
      message: err.message,
      ...(err.details ? { details: err.details } : {}),
      ...(err.extra ?? {}),
    },
  };
}

type Issue = { path: ReadonlyArray<PropertyKey>; message: string; code?: string; expected?: unknown };

/** zod's default for a missing field reads "Invalid input: expected array, received undefined"; a client needs "required". */
function wording(i: Issue): string {
  if (i.code !== 'invalid_type' || !i.message.startsWith('Invalid input: ')) return i.message;
  return i.message.endsWith('received undefined') ? `required (${String(i.expected)})` : i.message.slice('Invalid input: '.length);
}

/** Turns zod issues into details that name each bad field. */
export function validationError(issues: ReadonlyArray<Issue>, prefix = ''): ApiError {
  const details = issues.map((i) => ({
    field: [prefix, ...i.path.map(String)].filter(Boolean).join('.') || '(body)',
    message: wording(i),
  }));
  return new ApiError('validation_failed', `Invalid ${details.map((d) => d.field).join(', ')}.`, details);
}

/** Parses with a zod schema or throws validation_failed naming each field. */
export function parseOrThrow<T>(
  schema: { safeParse(v: unknown): { success: true; data: T } | { success: false; error: { issues: ReadonlyArray<Issue> } } },
  value: unknown,
  prefix = '',
): T {
  const r = schema.safeParse(value);
  if (!r.success) throw validationError(r.error.issues, prefix);
  return r.data;
}
