import { ArgumentsHost, Catch, HttpException, Inject, type ExceptionFilter } from '@nestjs/common';
import type { Request, Response } from 'express';
import type { Logger } from 'pino';
import { ScimError } from '../../lib/scim/schema.types.js';
import { LOGGER } from '../logging/logging.module.js';
import { DomainError, HTTP_STATUS_BY_KIND, type FieldError } from './domain-error.js';
import { PROBLEM_CONTENT_TYPE, problem, type Problem } from './problem.js';

/** A surface (e.g. the SCIM source) that renders errors in its own format below a path prefix. */
export interface ErrorSurface {
  pathPrefix: string;
  render(error: unknown, req: Request, res: Response, requestId: string | undefined): boolean;
}

const surfaces: ErrorSurface[] = [];

/** Lets a feature module claim the error format of its paths (the SCIM envelope under /scim). */
export function registerErrorSurface(surface: ErrorSurface): void {
  if (!surfaces.some((s) => s.pathPrefix === surface.pathPrefix)) surfaces.push(surface);
}

/**
 * The last line of defence: every error leaves as RFC 9457 problem+json (or in the format of the
 * surface that owns the path). Anything unexpected is logged with the request id and answered with
 * a generic 500, so internals never leak.
 */
@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  constructor(@Inject(LOGGER) private readonly logger: Logger) {}

  catch(error: unknown, host: ArgumentsHost): void {
    if (host.getType() !== 'http') throw error;
    const req = host.switchToHttp().getRequest<Request>();
    const res = host.switchToHttp().getResponse<Response>();
    const requestId = typeof req.id === 'string' ? req.id : undefined;
    if (res.headersSent) {
      this.logger.error({ err: error, reqId: requestId }, 'error after the response was sent');
      return;
    }
    const surface = surfaces.find((s) => req.path.startsWith(s.pathPrefix));
    if (surface && surface.render(error, req, res, requestId)) return;

    const body = this.toProblem(error, req, requestId);
    if (body.status >= 500) {
      this.logger.error({ err: error, reqId: requestId, path: req.path }, 'unhandled error');
    }
    res.status(body.status).type(PROBLEM_CONTENT_TYPE).send(JSON.stringify(body));
  }

  private toProblem(error: unknown, req: Request, requestId: string | undefined): Problem {
    const base = { instance: req.originalUrl.split('?')[0], requestId };
    if (error instanceof DomainError) {
      const { errors, ...rest } = error.details;
      return problem(HTTP_STATUS_BY_KIND[error.kind], error.code, error.message, {
        ...base,
        ...(errors ? { errors } : {}),
        ...rest,
      });
    }
    if (error instanceof ScimError) {
      return problem(error.status, error.scimType ?? 'invalid_request', error.message, base);
    }
    // Nest wraps body-parser failures in an HttpException whose cause is the original error.
    const parserError = bodyParserError(error) ?? bodyParserError((error as { cause?: unknown })?.cause);
    if (parserError) return problem(parserError.status, parserError.code, parserError.detail, base);
    if (error instanceof HttpException) {
      const status = error.getStatus();
      const response = error.getResponse();
      const errors = (response as { errors?: FieldError[] }).errors;
      const message =
        typeof response === 'string'
          ? response
          : ((response as { detail?: string; message?: string | string[] }).detail ??
            [(response as { message?: string | string[] }).message].flat().join('; '));
      const code = (response as { code?: string }).code ?? httpCode(status);
      return problem(status, code, message || error.message, { ...base, ...(errors ? { errors } : {}) });
    }
    return problem(
      500,
      'internal_error',
      'An unexpected error occurred. Quote the request id when reporting it.',
      base,
    );
  }
}

/** body-parser signals malformed or oversized bodies with a `type` and a `status`. */
export function bodyParserError(
  error: unknown,
): { status: number; code: string; detail: string } | undefined {
  const e = error as { type?: string; status?: number; limit?: number };
  if (typeof e?.type !== 'string' || typeof e.status !== 'number') return undefined;
  switch (e.type) {
    case 'entity.parse.failed':
      return { status: 400, code: 'malformed_json', detail: 'The request body is not valid JSON' };
    case 'entity.too.large':
      return {
        status: 413,
        code: 'payload_too_large',
        detail: `The request body exceeds the limit of ${e.limit} bytes`,
      };
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return { status: 415, code: 'unsupported_encoding', detail: 'Unsupported body encoding or charset' };
    default:
      return e.status >= 400 && e.status < 500
        ? { status: e.status, code: 'invalid_body', detail: 'The request body could not be read' }
        : undefined;
  }
}

function httpCode(status: number): string {
  switch (status) {
    case 400:
      return 'bad_request';
    case 401:
      return 'unauthorized';
    case 403:
      return 'forbidden';
    case 404:
      return 'not_found';
    case 405:
      return 'method_not_allowed';
    case 409:
      return 'conflict';
    case 413:
      return 'payload_too_large';
    case 415:
      return 'unsupported_media_type';
    default:
      return status >= 500 ? 'internal_error' : 'error';
  }
}
