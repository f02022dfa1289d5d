import { Injectable, UnauthorizedException, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { Request } from 'express';
import { SourcesService, type SourcePrincipal } from '../sources/sources.service.js';

declare module 'express-serve-static-core' {
  interface Request {
    scimSource?: SourcePrincipal;
  }
}

const BEARER = /^Bearer\s+(\S+)\s*$/i;

/**
 * Authenticates SCIM requests with the source's bearer token. A token is valid only for the source
 * named in the path; every failure (missing, malformed, unknown, expired, retired, other source's
 * token, disabled source, unknown slug) is the same 401, so nothing about other sources leaks.
 */
@Injectable()
export class ScimSourceGuard implements CanActivate {
  constructor(private readonly sources: SourcesService) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const req = context.switchToHttp().getRequest<Request>();
    const slug = req.params['slug'];
    const match = BEARER.exec(req.headers.authorization ?? '');
    const principal =
      match && typeof slug === 'string' ? await this.sources.authenticate(slug, match[1]!) : undefined;
    if (!principal) throw new UnauthorizedException();
    req.scimSource = principal;
    return true;
  }
}

/** The authenticated source of a SCIM request (set by {@link ScimSourceGuard}). */
export function sourceOf(req: Request): SourcePrincipal {
  if (!req.scimSource) throw new UnauthorizedException();
  return req.scimSource;
}
