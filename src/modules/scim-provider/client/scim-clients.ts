import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import type { Logger } from 'pino';
import { LOGGER } from '../../../platform/logging/logging.module.js';
import { ScimClient, type ClientTarget } from './scim-client.js';

/**
 * One {@link ScimClient} per provider in this process, rebuilt when the provider changes (its
 * version), which also drops the cached ServiceProviderConfig and token. Pools close on shutdown.
 */
@Injectable()
export class ScimClients implements OnModuleDestroy {
  private readonly clients = new Map<string, ScimClient>();
  private readonly logger: Logger;

  constructor(@Inject(LOGGER) logger: Logger) {
    this.logger = logger.child({ component: 'scim-client' });
  }

  get(target: ClientTarget): ScimClient {
    const current = this.clients.get(target.providerId);
    if (current && current.target.version === target.version) return current;
    if (current) void current.close();
    const client = new ScimClient(target, (reason) =>
      this.logger.warn(
        { providerId: target.providerId, reason },
        'The app declares SCIM Bulk but refused it: its writes go as single requests from now on',
      ),
    );
    this.clients.set(target.providerId, client);
    return client;
  }

  /** The client of a provider if this process has one (for metrics). */
  peek(providerId: string): ScimClient | undefined {
    return this.clients.get(providerId);
  }

  drop(providerId: string): void {
    const client = this.clients.get(providerId);
    this.clients.delete(providerId);
    if (client) void client.close();
  }

  async onModuleDestroy(): Promise<void> {
    const all = [...this.clients.values()];
    this.clients.clear();
    await Promise.all(all.map((c) => c.close()));
  }
}
