import { Injectable, UnauthorizedException, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthGuard, PassportStrategy } from '@nestjs/passport';
import type { Request, Response } from 'express';
import { Strategy } from 'passport-http-bearer';
import { AdminTokensService, type AdminPrincipal } from './admin-tokens/admin-tokens.service.js';
import { IS_PUBLIC } from './public.decorator.js';

declare module 'express-serve-static-core' {
  interface Request {
    admin?: AdminPrincipal;
  }
}

const STRATEGY = 'admin-bearer';

/** RFC 6750 bearer parsing by passport-http-bearer; verification by {@link AdminTokensService}. */
@Injectable()
export class AdminBearerStrategy extends PassportStrategy(Strategy, STRATEGY) {
  constructor(private readonly tokens: AdminTokensService) {
    super();
  }

  async validate(token: string): Promise<AdminPrincipal | false> {
    return (await this.tokens.authenticate(token)) ?? false;
  }
}

/**
 * Global guard: every route needs a valid admin bearer token unless marked {@link Public}.
 */
@Injectable()
export class AdminAuthGuard extends AuthGuard(STRATEGY) {
  constructor(private readonly reflector: Reflector) {
    super({ property: 'admin', session: false });
  }

  override canActivate(context: ExecutionContext) {
    const isPublic = this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (isPublic) return true;
    return super.canActivate(context);
  }

  override handleRequest<TUser = AdminPrincipal>(
    error: unknown,
    principal: TUser | false,
    _info: unknown,
    context: ExecutionContext,
  ): TUser {
    if (error) throw error instanceof Error ? error : new Error(String(error));
    if (!principal) {
      const req = context.switchToHttp().getRequest<Request>();
      context
        .switchToHttp()
        .getResponse<Response>()
        .setHeader('WWW-Authenticate', 'Bearer realm="identity-bridge"');
      throw new UnauthorizedException({
        code: 'unauthorized',
        detail: req.headers.authorization
          ? 'The admin token is invalid, expired or revoked'
          : 'An admin bearer token is required',
      });
    }
    return principal;
  }
}
