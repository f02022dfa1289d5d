import { SetMetadata } from '@nestjs/common';

export const IS_PUBLIC = 'identity-bridge:public';

/**
 * Marks a route (or controller) as reachable without an admin token. Everything else is denied by
 * default. Use sparingly: health, metrics, API docs, and surfaces with their own authentication
 * (the SCIM source checks source tokens itself).
 */
export const Public = (): MethodDecorator & ClassDecorator => SetMetadata(IS_PUBLIC, true);
