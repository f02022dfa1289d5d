/**
 * What went wrong, independent of any surface. Each surface translates a kind to its own format
 * once: the admin API to problem+json, the SCIM source to the SCIM error envelope.
 */
export type ErrorKind =
  | 'validation'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'precondition_failed'
  | 'payload_too_large'
  | 'rate_limited'
  | 'unavailable';

export interface FieldError {
  field: string;
  message: string;
}

export class DomainError extends Error {
  constructor(
    /** Stable machine-readable code, e.g. `user_not_found`. */
    readonly code: string,
    readonly kind: ErrorKind,
    message: string,
    readonly details: { errors?: FieldError[]; [key: string]: unknown } = {},
  ) {
    super(message);
    this.name = 'DomainError';
  }
}

export const HTTP_STATUS_BY_KIND: Record<ErrorKind, number> = {
  validation: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  precondition_failed: 412,
  payload_too_large: 413,
  rate_limited: 429,
  unavailable: 503,
};

export const notFound = (what: string, id: string): DomainError =>
  new DomainError(
    `${what.toLowerCase().replace(/\s+/g, '_')}_not_found`,
    'not_found',
    `${what} ${id} does not exist`,
  );
