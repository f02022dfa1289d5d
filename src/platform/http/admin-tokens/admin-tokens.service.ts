import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Logger } from 'pino';
import { DataSource, IsNull } from 'typeorm';
import type { AppConfig } from '../../../config/config.js';
import { APP_CONFIG } from '../../../config/config.module.js';
import { DomainError, notFound } from '../../errors/domain-error.js';
import { LOGGER } from '../../logging/logging.module.js';
import { decodeCursor, toPage } from '../cursor.js';
import { digestToken, issueToken, tokenMatches, tokenPrefix } from '../../security/tokens.js';
import { AdminTokenEntity } from './admin-token.entity.js';

export interface AdminPrincipal {
  /** The token row id, or `env` for ADMIN_TOKEN. */
  tokenId: string;
  name: string;
}

const LAST_USED_RESOLUTION_MS = 60_000;

@Injectable()
export class AdminTokensService implements OnApplicationBootstrap {
  private readonly envDigest: Buffer | undefined;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    this.envDigest = config.adminToken ? digestToken(config.adminToken) : undefined;
  }

  private get repo() {
    return this.dataSource.getRepository(AdminTokenEntity);
  }

  /**
   * First start without ADMIN_TOKEN: generate one, print it once, store only its digest. A
   * transaction-scoped advisory lock keeps concurrent first starts from minting two.
   */
  async onApplicationBootstrap(): Promise<void> {
    if (this.config.adminToken || this.config.role === 'worker') return;
    const issued = await this.dataSource.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock(7346118204)');
      if ((await tx.getRepository(AdminTokenEntity).count()) > 0) return undefined;
      const token = issueToken('adm');
      await tx
        .getRepository(AdminTokenEntity)
        .insert({ name: 'initial', prefix: token.prefix, digest: token.digest });
      return token;
    });
    if (issued) {
      // Deliberately bypasses redaction: this is the one time the token is ever shown.
      this.logger.warn(
        { initialAdminToken: issued.token },
        'Generated the initial admin token. It is shown only this once: store it now.',
      );
    }
  }

  async authenticate(token: string): Promise<AdminPrincipal | undefined> {
    if (this.envDigest && tokenMatches(token, this.envDigest)) return { tokenId: 'env', name: 'ADMIN_TOKEN' };
    const prefix = tokenPrefix(token, 'adm');
    if (!prefix) return undefined;
    const row = await this.repo.findOneBy({ prefix, revokedAt: IsNull() });
    if (!row || !tokenMatches(token, row.digest)) return undefined;
    if (row.expiresAt && row.expiresAt.getTime() <= Date.now()) return undefined;
    if (!row.lastUsedAt || Date.now() - row.lastUsedAt.getTime() > LAST_USED_RESOLUTION_MS) {
      await this.repo.update({ id: row.id }, { lastUsedAt: new Date() });
    }
    return { tokenId: row.id, name: row.name };
  }

  async create(name: string, expiresAt?: Date): Promise<{ entity: AdminTokenEntity; token: string }> {
    const issued = issueToken('adm');
    const entity = await this.repo.save(
      this.repo.create({ name, prefix: issued.prefix, digest: issued.digest, expiresAt: expiresAt ?? null }),
    );
    return { entity, token: issued.token };
  }

  async list(
    limit: number,
    cursor?: string,
  ): Promise<{ items: AdminTokenEntity[]; nextCursor: string | null }> {
    const qb = this.repo
      .createQueryBuilder('t')
      .orderBy('t.id', 'ASC')
      .take(limit + 1);
    if (cursor) qb.where('t.id > :after', { after: decodeCursor(cursor, ['uuid'])[0] });
    return toPage(await qb.getMany(), limit, (t) => [t.id]);
  }

  async revoke(id: string, by: AdminPrincipal): Promise<void> {
    if (id === by.tokenId) {
      throw new DomainError(
        'cannot_revoke_own_token',
        'conflict',
        'A token cannot revoke itself; use another admin token',
      );
    }
    const result = await this.repo.update({ id, revokedAt: IsNull() }, { revokedAt: new Date() });
    if (!result.affected) throw notFound('Admin token', id);
  }
}
