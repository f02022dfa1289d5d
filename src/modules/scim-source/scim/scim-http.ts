import { HttpException } from '@nestjs/common';
import type { Request, Response } from 'express';
import type { Logger } from 'pino';
import { ERROR_SCHEMA, ScimError, type ScimErrorType } from '../../../lib/scim/schema.types.js';
import { DomainError, HTTP_STATUS_BY_KIND } from '../../../platform/errors/domain-error.js';
import { bodyParserError, registerErrorSurface } from '../../../platform/errors/exception.filter.js';
import { pgCode } from '../pg-errors.js';

export const SCIM_CONTENT_TYPE = 'application/scim+json; charset=utf-8';

/** The SCIM error envelope (RFC 7644 §3.12): `status` is a string. */
export interface ScimErrorBody {
  schemas: [typeof ERROR_SCHEMA];
  status: string;
  scimType?: ScimErrorType;
  detail: string;
}

export function errorBody(
  status: number,
  scimType: ScimErrorType | undefined,
  detail: string,
): ScimErrorBody {
  return { schemas: [ERROR_SCHEMA], status: String(status), ...(scimType ? { scimType } : {}), detail };
}

/** Writes a SCIM JSON response. */
export function sendScim(
  res: Response,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  res.status(status).setHeader('Content-Type', SCIM_CONTENT_TYPE).send(JSON.stringify(body));
}

/** The scimType a directory or mapping error code stands for. */
const SCIM_TYPE_BY_CODE: Record<string, ScimErrorType> = {
  user_name_taken: 'uniqueness',
  members_not_found: 'invalidValue',
  membership_cycle: 'invalidValue',
  object_skipped: 'invalidValue',
  mapping_failed: 'invalidValue',
  mapping_result_invalid: 'invalidValue',
  invalid_cursor: 'invalidCursor',
};

/**
 * Translates any error into a status and an envelope, once, for the whole SCIM surface: lib/scim's
 * ScimError, the directory's and mappings' DomainError, body-parser failures (malformed JSON,
 * oversized bodies), Nest's own HTTP errors (unknown routes) and anything unexpected (500).
 */
export function toScimError(error: unknown): ScimErrorBody & { unexpected?: boolean } {
  if (error instanceof ScimError) return errorBody(error.status, error.scimType, error.message);
  if (error instanceof DomainError) {
    const status = HTTP_STATUS_BY_KIND[error.kind];
    const scimType =
      SCIM_TYPE_BY_CODE[error.code] ?? (error.kind === 'validation' ? 'invalidValue' : undefined);
    return errorBody(status, scimType, error.message);
  }
  const parser = bodyParserError(error) ?? bodyParserError((error as { cause?: unknown } | undefined)?.cause);
  if (parser) {
    const scimType: ScimErrorType | undefined = parser.status === 400 ? 'invalidSyntax' : undefined;
    return errorBody(parser.status, scimType, parser.detail);
  }
  // Races with concurrent requests (a member deleted meanwhile, a deadlock victim): retryable.
  const sqlState = pgCode(error);
  if (sqlState === '23503') {
    return errorBody(
      409,
      undefined,
      'Another request changed an object this request refers to at the same time; retry',
    );
  }
  if (sqlState === '40001' || sqlState === '40P01') {
    return errorBody(503, undefined, 'The request collided with a concurrent change; retry');
  }
  if (error instanceof HttpException) {
    const status = error.getStatus();
    if (status === 404) return errorBody(404, undefined, 'No such SCIM endpoint');
    if (status === 401) return errorBody(401, undefined, 'A valid bearer token for this source is required');
    const response = error.getResponse();
    const detail =
      typeof response === 'string'
        ? response
        : ((response as { detail?: string }).detail ??
          [(response as { message?: string | string[] }).message].flat().join('; '));
    return errorBody(status, undefined, detail || error.message);
  }
  return {
    ...errorBody(500, undefined, 'An unexpected error occurred. Quote the request id when reporting it.'),
    unexpected: true,
  };
}

/** Claims `/scim/` for the SCIM error envelope: every error there, 401 and 404 included. */
export function registerScimErrorSurface(logger: Logger): void {
  registerErrorSurface({
    pathPrefix: '/scim/',
    render(error: unknown, req: Request, res: Response, requestId: string | undefined): boolean {
      const { unexpected, ...body } = toScimError(error);
      if (unexpected)
        logger.error({ err: error, reqId: requestId, path: req.path }, 'unhandled error on the SCIM surface');
      if (body.status === '401') res.setHeader('WWW-Authenticate', 'Bearer realm="identity-bridge-scim"');
      sendScim(res, Number(body.status), body);
      return true;
    },
  });
}
