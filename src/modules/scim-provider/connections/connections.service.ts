import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { decodeCursor, invalidCursor, toPage } from '../../../platform/http/cursor.js';
import type { SyncObjectType } from '../../../platform/jobs/index.js';
import { ConnectionEntity } from './connection.entity.js';

/** Per-object sync state of a provider, as the admin API lists it. */
@Injectable()
export class ConnectionsService {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** Keyset page by (object type, local id). */
  async list(providerId: string, limit: number, cursor?: string, type?: SyncObjectType) {
    const after = cursor ? decodeCursor(cursor, ['string', 'uuid']) : undefined;
    if (after && after[0] !== 'user' && after[0] !== 'group') throw invalidCursor();
    const qb = this.dataSource
      .getRepository(ConnectionEntity)
      .createQueryBuilder('c')
      .where('c.provider_id = :providerId', { providerId })
      .orderBy('c.object_type', 'ASC')
      .addOrderBy('c.local_id', 'ASC')
      .limit(limit + 1);
    if (type) qb.andWhere('c.object_type = :type', { type });
    if (after) qb.andWhere('(c.object_type, c.local_id) > (:t, :id::uuid)', { t: after[0], id: after[1] });
    const rows = await qb.getMany();
    return toPage(rows, limit, (c) => [c.objectType, c.localId]);
  }

  async find(providerId: string, type: SyncObjectType, localId: string): Promise<ConnectionEntity | null> {
    return this.dataSource
      .getRepository(ConnectionEntity)
      .findOne({ where: { providerId, objectType: type, localId } });
  }
}
