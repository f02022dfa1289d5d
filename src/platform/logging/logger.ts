import { AsyncLocalStorage } from 'node:async_hooks';
import type { LoggerService } from '@nestjs/common';
import { pino, type Logger } from 'pino';

/** What every log line carries while a request or a job is being handled. */
export interface LogContext {
  reqId?: string;
  jobId?: string;
}

export const logContext = new AsyncLocalStorage<LogContext>();

/**
 * The one redaction list: tokens, secrets and credentials never reach a log line, wherever they
 * sit in a logged object.
 */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  '*.token',
  '*.password',
  '*.secret',
  '*.clientSecret',
  '*.secretKey',
  '*.adminToken',
  '*.auth.token',
  '*.auth.clientSecret',
  'token',
  'password',
  'clientSecret',
  'secretKey',
  'adminToken',
];

export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: 'identity-bridge' },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    mixin: () => ({ ...logContext.getStore() }),
    timestamp: pino.stdTimeFunctions.isoTime,
  });
}

/** Nest's logger interface on top of pino, so framework messages share the JSON format. */
export class PinoNestLogger implements LoggerService {
  constructor(private readonly logger: Logger) {}

  log(message: unknown, context?: string): void {
    this.logger.info({ context }, String(message));
  }
  error(message: unknown, trace?: string, context?: string): void {
    this.logger.error({ context, trace }, String(message));
  }
  warn(message: unknown, context?: string): void {
    this.logger.warn({ context }, String(message));
  }
  debug(message: unknown, context?: string): void {
    this.logger.debug({ context }, String(message));
  }
  verbose(message: unknown, context?: string): void {
    this.logger.trace({ context }, String(message));
  }
}
