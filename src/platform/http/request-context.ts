import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { logContext } from '../logging/logger.js';

declare module 'express-serve-static-core' {
  interface Request {
    id?: string;
  }
}

const INCOMING_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Gives every request an id (a sane incoming X-Request-Id, else a new UUID), echoes it in the
 * response and puts it on every log line written while the request is handled.
 */
export function requestContextMiddleware(req: Request, res: Response, next: NextFunction): void {
  const incoming = req.headers['x-request-id'];
  const id = typeof incoming === 'string' && INCOMING_ID.test(incoming) ? incoming : randomUUID();
  req.id = id;
  res.setHeader('X-Request-Id', id);
  logContext.run({ reqId: id }, next);
}
