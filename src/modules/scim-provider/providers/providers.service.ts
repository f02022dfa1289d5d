import { randomUUID } from 'node:crypto';
import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';
import { APP_CONFIG } from '../../../config/config.module.js';
import type { AppConfig } from '../../../config/config.js';
import { decodeCursor, toPage } from '../../../platform/http/cursor.js';
import { SecretBox } from '../../../platform/security/secret-box.js';
import {
  MappingReferenceChecker,
  PropertyMappingsService,
  type MappingScope,
} from '../../property-mapping/index.js';
import type { ClientTarget } from '../client/scim-client.js';
import { COMPATIBILITY_PROFILES, type ProfileName } from '../client/compatibility.js';
import { RunsService } from '../runs/runs.service.js';
import { ProviderErrors } from '../scim-provider.errors.js';
import type {
  ProviderAuthSettings,
  ProviderDeprovision,
  ProviderEntity,
  ProviderRetry,
  ProviderSchedule,
  ProviderScope,
} from './provider.entity.js';
import { ProviderRepository } from './provider.repository.js';
import { nextRunAt, scheduleProblem } from './schedule.js';

/** Provider settings as admins write them (secrets included only when set or changed). */
export interface ProviderInput {
  name: string;
  url: string;
  auth: {
    type: 'bearer' | 'oauth2';
    token?: string;
    tokenUrl?: string;
    clientId?: string;
    clientSecret?: string;
    scope?: string | null;
  };
  tls?: { verify?: boolean; caBundle?: string | null };
  compatibility?: ProfileName;
  maxPatchOperations?: number | null;
  userMappings?: string[] | null;
  groupMappings?: string[] | null;
  scope?: Partial<ProviderScope>;
  deprovision?: Partial<ProviderDeprovision>;
  schedule?: ProviderSchedule | null;
  maxConcurrency?: number;
  maxRequestsPerSecond?: number | null;
  timeoutSeconds?: number;
  retry?: Partial<ProviderRetry>;
  dryRun?: boolean;
  linkedSourceId?: string | null;
  paused?: boolean;
}

export const DEFAULT_SCOPE: ProviderScope = {
  users: 'all',
  userGroupIds: [],
  excludeServiceAccounts: false,
  groups: 'all',
  groupIds: [],
};
export const DEFAULT_DEPROVISION: ProviderDeprovision = { deleted: 'delete', outOfScope: 'deactivate' };
export const DEFAULT_RETRY: ProviderRetry = { maxAttempts: 50, baseDelaySeconds: 1, maxDelaySeconds: 30 };

const NAME_KEY = 'providers_name_lower_key';

/** Providers: a service method is a unit of work. Secrets are sealed with SECRET_KEY and never returned. */
@Injectable()
export class ProvidersService implements OnModuleInit {
  private readonly box: SecretBox;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly mappings: PropertyMappingsService,
    private readonly references: MappingReferenceChecker,
    private readonly runs: RunsService,
  ) {
    this.box = new SecretBox(config.secretKey);
  }

  /** Tells the mapping module which mappings providers list, so a listed mapping cannot be deleted. */
  onModuleInit(): void {
    this.references.register({
      type: 'provider',
      referencesTo: async (mappingId, tx) => {
        const rows = await new ProviderRepository(tx).referencing(mappingId);
        return rows.flatMap((r) => [
          ...(r.inUsers
            ? [{ ownerType: 'provider', ownerId: r.id, ownerName: r.name, list: 'userMappings' }]
            : []),
          ...(r.inGroups
            ? [{ ownerType: 'provider', ownerId: r.id, ownerName: r.name, list: 'groupMappings' }]
            : []),
        ]);
      },
      mappingIdsOf: async (ownerId, scope) => {
        if (scope !== 'provider:user' && scope !== 'provider:group') return null;
        const provider = await new ProviderRepository(this.dataSource.manager).findById(ownerId);
        if (!provider) return null;
        return {
          mappingIds: await this.mappingIds(provider, scope),
          context: { provider: { id: provider.id, name: provider.name } },
        };
      },
    });
  }

  async get(id: string, tx?: EntityManager): Promise<ProviderEntity> {
    const provider = await new ProviderRepository(tx ?? this.dataSource.manager).findById(id);
    if (!provider) throw ProviderErrors.notFound(id);
    return provider;
  }

  async list(limit: number, cursor?: string) {
    const after = cursor ? (decodeCursor(cursor, ['uuid'])[0] as string) : undefined;
    const rows = await new ProviderRepository(this.dataSource.manager).list(limit, after);
    return toPage(rows, limit, (p) => [p.id]);
  }

  create(input: ProviderInput): Promise<ProviderEntity> {
    return this.dataSource.transaction(async (tx) => {
      const id = randomUUID();
      const secret = input.auth.type === 'bearer' ? input.auth.token : input.auth.clientSecret;
      if (!secret) {
        throw ProviderErrors.invalid(
          input.auth.type === 'bearer' ? 'auth.token' : 'auth.clientSecret',
          'is required',
        );
      }
      const values = await this.normalise(tx, input);
      return unique(input.name, () =>
        new ProviderRepository(tx).insert({
          id,
          ...values,
          authSecret: this.box.seal(secret, purpose(id)),
          nextSyncAt: nextRunAt(values.schedule ?? null, new Date()),
          pausedReason: values.paused ? 'paused by an admin' : null,
          pausedAt: values.paused ? new Date() : null,
        }),
      );
    });
  }

  /**
   * Replaces the settings (the admin API applies a merge patch to the current settings first).
   * A new secret re-seals; switching auth type needs one. Resuming a paused provider starts a full
   * sync, which catches up on everything that changed while it was paused.
   */
  update(id: string, input: ProviderInput, expectedVersion?: number): Promise<ProviderEntity> {
    return this.dataSource.transaction(async (tx) => {
      const repo = new ProviderRepository(tx);
      const provider = await repo.findById(id, true);
      if (!provider) throw ProviderErrors.notFound(id);
      if (expectedVersion !== undefined && expectedVersion !== provider.version)
        throw ProviderErrors.versionMismatch(expectedVersion, provider.version);
      const secret = input.auth.type === 'bearer' ? input.auth.token : input.auth.clientSecret;
      if (!secret && input.auth.type !== provider.authType) {
        throw ProviderErrors.invalid(
          input.auth.type === 'bearer' ? 'auth.token' : 'auth.clientSecret',
          'is required when changing the auth type',
        );
      }
      const values = await this.normalise(tx, input);
      const resumed = provider.paused && !values.paused;
      const scheduleChanged = JSON.stringify(values.schedule) !== JSON.stringify(provider.schedule);
      Object.assign(provider, values, {
        authSecret: secret ? this.box.seal(secret, purpose(id)) : provider.authSecret,
        version: provider.version + 1,
        pausedReason: values.paused ? (provider.paused ? provider.pausedReason : 'paused by an admin') : null,
        pausedAt: values.paused ? (provider.pausedAt ?? new Date()) : null,
        nextSyncAt: scheduleChanged ? nextRunAt(values.schedule ?? null, new Date()) : provider.nextSyncAt,
      });
      const saved = await unique(input.name, () => repo.save(provider));
      if (resumed) await this.runs.start(id, 'resume', tx);
      return saved;
    });
  }

  async delete(id: string): Promise<void> {
    await this.dataSource.transaction(async (tx) => {
      const repo = new ProviderRepository(tx);
      if (!(await repo.findById(id, true))) throw ProviderErrors.notFound(id);
      await repo.delete(id);
    });
  }

  /** Pauses a provider after a fatal error from its app; true when this call paused it. */
  pause(id: string, reason: string): Promise<boolean> {
    return new ProviderRepository(this.dataSource.manager).pause(id, reason);
  }

  /** The provider's mapping list for a scope (the managed defaults when it sets none). */
  async mappingIds(
    provider: ProviderEntity,
    scope: Extract<MappingScope, 'provider:user' | 'provider:group'>,
  ): Promise<string[]> {
    const list = scope === 'provider:user' ? provider.userMappings : provider.groupMappings;
    return list ?? (await this.mappings.defaultIds(scope));
  }

  /** What the SCIM client needs, with the secret decrypted (in memory only). */
  clientTarget(provider: ProviderEntity): ClientTarget {
    const secret = this.box.open(provider.authSecret, purpose(provider.id));
    const profile = COMPATIBILITY_PROFILES[provider.compatibility] ?? COMPATIBILITY_PROFILES.default;
    const settings: ProviderAuthSettings = provider.authSettings ?? {};
    return {
      providerId: provider.id,
      version: provider.version,
      url: provider.url,
      auth:
        provider.authType === 'bearer'
          ? { type: 'bearer', token: secret }
          : {
              type: 'oauth2',
              tokenUrl: settings.tokenUrl ?? '',
              clientId: settings.clientId ?? '',
              clientSecret: secret,
              scope: settings.scope ?? null,
            },
      tlsVerify: provider.tlsVerify,
      caBundle: provider.caBundle,
      timeoutMs: provider.timeoutSeconds * 1000,
      maxConcurrency: provider.maxConcurrency,
      maxRequestsPerSecond: provider.maxRequestsPerSecond ?? profile.defaultMaxRequestsPerSecond,
      circuitMaxOpenMs: Math.max(1000, provider.retry.maxDelaySeconds * 1000),
    };
  }

  /** Defaults filled in, cross-field rules checked, mapping lists verified (share-locked in `tx`). */
  private async normalise(tx: EntityManager, input: ProviderInput) {
    const scope: ProviderScope = { ...DEFAULT_SCOPE, ...input.scope };
    scope.userGroupIds = [...new Set(scope.userGroupIds ?? [])];
    scope.groupIds = [...new Set(scope.groupIds ?? [])];
    if (scope.users === 'groups' && scope.userGroupIds.length === 0) {
      throw ProviderErrors.invalid('scope.userGroupIds', 'name at least one group when users are "groups"');
    }
    if (scope.groups === 'selected' && scope.groupIds.length === 0) {
      throw ProviderErrors.invalid('scope.groupIds', 'name at least one group when groups are "selected"');
    }
    const schedule = input.schedule ? { ...input.schedule } : null;
    const problem = scheduleProblem(schedule);
    if (problem) throw ProviderErrors.invalid('schedule', problem);
    if (input.auth.type === 'oauth2' && (!input.auth.tokenUrl || !input.auth.clientId)) {
      throw ProviderErrors.invalid('auth', 'oauth2 needs tokenUrl and clientId');
    }
    const userMappings = input.userMappings ?? null;
    const groupMappings = input.groupMappings ?? null;
    if (userMappings) await this.mappings.assertUsable('provider:user', userMappings, tx);
    if (groupMappings) await this.mappings.assertUsable('provider:group', groupMappings, tx);
    const retry: ProviderRetry = { ...DEFAULT_RETRY, ...input.retry };
    if (retry.baseDelaySeconds > retry.maxDelaySeconds)
      throw ProviderErrors.invalid('retry', 'baseDelaySeconds exceeds maxDelaySeconds');
    return {
      name: input.name.trim(),
      url: input.url.replace(/\/+$/, ''),
      authType: input.auth.type,
      authSettings:
        input.auth.type === 'oauth2'
          ? { tokenUrl: input.auth.tokenUrl, clientId: input.auth.clientId, scope: input.auth.scope ?? null }
          : {},
      tlsVerify: input.tls?.verify ?? true,
      caBundle: input.tls?.caBundle ?? null,
      compatibility: input.compatibility ?? 'default',
      maxPatchOperations: input.maxPatchOperations ?? null,
      userMappings,
      groupMappings,
      scope,
      deprovision: { ...DEFAULT_DEPROVISION, ...input.deprovision },
      schedule,
      maxConcurrency: input.maxConcurrency ?? 8,
      maxRequestsPerSecond: input.maxRequestsPerSecond ?? null,
      timeoutSeconds: input.timeoutSeconds ?? 30,
      retry,
      dryRun: input.dryRun ?? false,
      linkedSourceId: input.linkedSourceId ?? null,
      paused: input.paused ?? false,
    } satisfies Partial<ProviderEntity>;
  }
}

/** The sealed secret is bound to its provider: it cannot be moved to another row. */
const purpose = (providerId: string) => `provider-auth:${providerId}`;

async function unique<T>(name: string, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    const e = error as {
      code?: string;
      constraint?: string;
      driverError?: { code?: string; constraint?: string };
    };
    const code = e.driverError?.code ?? e.code;
    const constraint = e.driverError?.constraint ?? e.constraint;
    if (code === '23505' && constraint === NAME_KEY) throw ProviderErrors.nameTaken(name);
    throw error;
  }
}
