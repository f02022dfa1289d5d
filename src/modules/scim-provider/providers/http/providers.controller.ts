import {
  Body,
  Delete,
  Get,
  Headers,
  HttpCode,
  Param,
  ParseUUIDPipe,
  Patch,
  Post,
  Query,
} from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBody,
  ApiCreatedResponse,
  ApiHeader,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
} from '@nestjs/swagger';
import { plainToInstance } from 'class-transformer';
import { validate } from 'class-validator';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { applyMergePatch } from '../../../../lib/merge/json-merge-patch.js';
import { DomainError } from '../../../../platform/errors/domain-error.js';
import { flattenValidationErrors } from '../../../../platform/errors/validation.js';
import { decodeCursor, toPage } from '../../../../platform/http/cursor.js';
import { versionFromIfMatch } from '../../../../platform/http/etag.js';
import { AdminController, ApiProblems, ListQueryDto, pageOf } from '../../../../platform/http/openapi.js';
import { ConnectionsService } from '../../connections/connections.service.js';
import type { ConnectionEntity } from '../../connections/connection.entity.js';
import { ObjectSyncService } from '../../engine/object-sync.service.js';
import type { RunSummary } from '../../runs/run.repository.js';
import { RunsService } from '../../runs/runs.service.js';
import type { ProviderEntity } from '../provider.entity.js';
import { ProvidersService, type ProviderInput } from '../providers.service.js';
import {
  ConnectionDto,
  DryRunQueryDto,
  DryRunRequestDto,
  ObjectsQueryDto,
  ProviderBodyDto,
  ProviderDto,
  RunDto,
  RunStartedDto,
  SyncObjectDto,
  SyncObjectResultDto,
} from './provider.dto.js';

const ProviderPage = pageOf(ProviderDto, 'ProviderPage');
const RunPage = pageOf(RunDto, 'RunPage');
const ConnectionPage = pageOf(ConnectionDto, 'ConnectionPage');
const DryRunPage = pageOf(DryRunRequestDto, 'DryRunRequestPage');

/** Providers: the downstream apps the directory is pushed to over SCIM. */
@AdminController('providers', 'Providers')
export class ProvidersController {
  constructor(
    private readonly providers: ProvidersService,
    private readonly runs: RunsService,
    private readonly connections: ConnectionsService,
    private readonly objects: ObjectSyncService,
    @InjectDataSource() private readonly dataSource: DataSource,
  ) {}

  @Post()
  @ApiOperation({
    summary: 'Create a provider',
    description:
      'Changes in the directory are pushed to it from now on; `POST /providers/{id}/sync` (or its schedule) runs the first full sync. The token or client secret is write-only.',
  })
  @ApiCreatedResponse({ type: ProviderDto })
  @ApiProblems(400, 409)
  async create(@Body() body: ProviderBodyDto): Promise<ProviderDto> {
    return toProviderDto(await this.providers.create(body as ProviderInput));
  }

  @Get()
  @ApiOperation({ summary: 'List providers' })
  @ApiOkResponse({ type: ProviderPage })
  @ApiProblems(400)
  async list(@Query() query: ListQueryDto) {
    const page = await this.providers.list(query.limit, query.cursor);
    return { items: page.items.map(toProviderDto), nextCursor: page.nextCursor };
  }

  @Get(':id')
  @ApiOperation({ summary: 'Read a provider (never its secrets)' })
  @ApiOkResponse({ type: ProviderDto })
  @ApiProblems(400, 404)
  async get(@Param('id', new ParseUUIDPipe()) id: string): Promise<ProviderDto> {
    return toProviderDto(await this.providers.get(id));
  }

  @Patch(':id')
  @ApiOperation({
    summary: 'Change a provider (JSON merge patch, RFC 7396)',
    description:
      'Secrets in `auth` replace the stored ones; leave them out to keep them (changing `auth.type` needs the new secret). `paused: false` resumes a paused provider and starts a full sync. New scope or mappings apply to each object at its next push; start a full sync to apply them to all at once.',
  })
  @ApiHeader({
    name: 'If-Match',
    required: false,
    description: 'Only write if the version still matches (W/"<version>")',
  })
  @ApiBody({
    schema: { type: 'object', example: { maxConcurrency: 16, scope: { excludeServiceAccounts: true } } },
  })
  @ApiOkResponse({ type: ProviderDto })
  @ApiProblems(400, 404, 409, 412)
  async update(
    @Param('id', new ParseUUIDPipe()) id: string,
    @Body() patch: unknown,
    @Headers('if-match') ifMatch: string | undefined,
  ): Promise<ProviderDto> {
    if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) {
      throw new DomainError('invalid_merge_patch', 'validation', 'A merge patch must be a JSON object');
    }
    const current = await this.providers.get(id);
    const merged = applyMergePatch(writableView(current), patch);
    const body = await validated(ProviderBodyDto, merged);
    return toProviderDto(
      await this.providers.update(id, body as ProviderInput, versionFromIfMatch(ifMatch) ?? current.version),
    );
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({
    summary: 'Remove a provider',
    description: 'Nothing is deleted in the app; its connections and runs are removed.',
  })
  @ApiNoContentResponse({ description: 'Removed' })
  @ApiProblems(400, 404)
  async delete(@Param('id', new ParseUUIDPipe()) id: string): Promise<void> {
    await this.providers.delete(id);
  }

  @Post(':id/sync')
  @HttpCode(202)
  @ApiOperation({
    summary: 'Start a full sync',
    description: 'If a run is already queued or running, answers with that run.',
  })
  @ApiAcceptedResponse({ type: RunStartedDto })
  @ApiProblems(400, 404, 409)
  async sync(@Param('id', new ParseUUIDPipe()) id: string): Promise<RunStartedDto> {
    const { runId } = await this.runs.start(id, 'manual');
    return { runId };
  }

  @Get(':id/runs')
  @ApiOperation({ summary: 'Runs of a provider, newest first' })
  @ApiOkResponse({ type: RunPage })
  @ApiProblems(400, 404)
  async listRuns(@Param('id', new ParseUUIDPipe()) id: string, @Query() query: ListQueryDto) {
    const page = await this.runs.list(id, query.limit, query.cursor);
    return { items: page.items.map(toRunDto), nextCursor: page.nextCursor };
  }

  @Get(':id/runs/:runId')
  @ApiOperation({ summary: 'A run with its live progress, counts by outcome and per-object errors' })
  @ApiOkResponse({ type: RunDto })
  @ApiProblems(400, 404)
  async getRun(
    @Param('id', new ParseUUIDPipe()) id: string,
    @Param('runId', new ParseUUIDPipe()) runId: string,
  ): Promise<RunDto> {
    return toRunDto(await this.runs.get(id, runId));
  }

  @Get(':id/objects')
  @ApiOperation({ summary: 'Per-object state: local id, remote id, last sync, last error, attempts' })
  @ApiOkResponse({ type: ConnectionPage })
  @ApiProblems(400, 404)
  async listObjects(@Param('id', new ParseUUIDPipe()) id: string, @Query() query: ObjectsQueryDto) {
    await this.providers.get(id);
    const page = await this.connections.list(id, query.limit, query.cursor, query.type);
    return {
      items: page.items.map((c) => toConnectionDto(c, query.include === 'payload')),
      nextCursor: page.nextCursor,
    };
  }

  @Post(':id/objects/sync')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Push one object now (provision on demand)',
    description:
      'Creates, updates or deprovisions the user or group in the app right away and answers with the outcome.',
  })
  @ApiOkResponse({ type: SyncObjectResultDto })
  @ApiProblems(400, 404, 409)
  async syncObject(
    @Param('id', new ParseUUIDPipe()) id: string,
    @Body() body: SyncObjectDto,
  ): Promise<SyncObjectResultDto> {
    return this.objects.push(id, body.type, body.id);
  }

  @Get(':id/dry-run-requests')
  @ApiOperation({
    summary: 'What a dry-run provider would have sent',
    description: 'Oldest first; filter by `runId`.',
  })
  @ApiOkResponse({ type: DryRunPage })
  @ApiProblems(400, 404)
  async dryRunRequests(@Param('id', new ParseUUIDPipe()) id: string, @Query() query: DryRunQueryDto) {
    await this.providers.get(id);
    const after = query.cursor ? (decodeCursor(query.cursor, ['string'])[0] as string) : '0';
    const rows: {
      id: string;
      run_id: string | null;
      object_type: string;
      object_id: string;
      method: string;
      path: string;
      body: unknown;
      created_at: Date;
    }[] = await this.dataSource.query(
      `SELECT id::text, run_id, object_type, object_id, method, path, body, created_at FROM provider_dry_run_requests
          WHERE provider_id = $1 AND id > $2::bigint AND ($3::uuid IS NULL OR run_id = $3::uuid) ORDER BY id LIMIT $4`,
      [id, after, query.runId ?? null, query.limit + 1],
    );
    const page = toPage(rows, query.limit, (r) => [r.id]);
    return {
      items: page.items.map((r) => ({
        id: r.id,
        runId: r.run_id,
        objectType: r.object_type,
        objectId: r.object_id,
        method: r.method,
        path: r.path,
        body: r.body,
        createdAt: r.created_at.toISOString(),
      })),
      nextCursor: page.nextCursor,
    };
  }

  @Delete(':id/dry-run-requests')
  @HttpCode(204)
  @ApiOperation({ summary: 'Clear the recorded dry-run requests' })
  @ApiNoContentResponse({ description: 'Cleared' })
  @ApiProblems(400, 404)
  async clearDryRun(@Param('id', new ParseUUIDPipe()) id: string): Promise<void> {
    await this.providers.get(id);
    await this.dataSource.query(`DELETE FROM provider_dry_run_requests WHERE provider_id = $1`, [id]);
  }
}

/** The settings of a provider as a merge patch applies to them (secrets are never part of it). */
function writableView(p: ProviderEntity): Record<string, unknown> {
  return {
    name: p.name,
    url: p.url,
    auth: p.authType === 'bearer' ? { type: 'bearer' } : { type: 'oauth2', ...p.authSettings },
    tls: { verify: p.tlsVerify, caBundle: p.caBundle },
    compatibility: p.compatibility,
    maxPatchOperations: p.maxPatchOperations,
    userMappings: p.userMappings,
    groupMappings: p.groupMappings,
    scope: p.scope,
    deprovision: p.deprovision,
    schedule: p.schedule,
    maxConcurrency: p.maxConcurrency,
    maxRequestsPerSecond: p.maxRequestsPerSecond,
    timeoutSeconds: p.timeoutSeconds,
    retry: p.retry,
    dryRun: p.dryRun,
    linkedSourceId: p.linkedSourceId,
    paused: p.paused,
  };
}

export function toProviderDto(p: ProviderEntity): ProviderDto {
  const view = writableView(p) as Omit<ProviderDto, 'auth'>;
  return {
    ...view,
    id: p.id,
    auth: { ...(view as unknown as { auth: { type: 'bearer' | 'oauth2' } }).auth, secretSet: true },
    nextSyncAt: p.nextSyncAt?.toISOString() ?? null,
    pausedReason: p.pausedReason,
    pausedAt: p.pausedAt?.toISOString() ?? null,
    version: p.version,
    createdAt: p.createdAt.toISOString(),
    updatedAt: p.updatedAt.toISOString(),
  };
}

function toRunDto(s: RunSummary): RunDto {
  return {
    id: s.run.id,
    status: s.run.status,
    trigger: s.run.trigger,
    phase: s.run.phase,
    dryRun: s.run.dryRun,
    total: s.run.total,
    done: s.done,
    counts: s.counts,
    startedAt: s.run.startedAt?.toISOString() ?? null,
    finishedAt: s.run.finishedAt?.toISOString() ?? null,
    message: s.run.message,
    errors: s.errors,
  };
}

function toConnectionDto(c: ConnectionEntity, withPayload: boolean): ConnectionDto {
  return {
    objectType: c.objectType,
    localId: c.localId,
    remoteId: c.remoteId,
    state: c.state,
    lastSyncedAt: c.lastSyncedAt?.toISOString() ?? null,
    lastError: c.lastError,
    lastErrorKind: c.lastErrorKind,
    attempts: c.attempts,
    ...(withPayload ? { lastSent: c.lastSent } : {}),
  };
}

/** Validates a plain object against a DTO class the way the global pipe does. */
async function validated<T extends object>(cls: new () => T, value: unknown): Promise<T> {
  const instance = plainToInstance(cls, value);
  const errors = await validate(instance, {
    whitelist: true,
    forbidNonWhitelisted: true,
    forbidUnknownValues: true,
  });
  if (errors.length > 0) {
    const list = flattenValidationErrors(errors);
    throw new DomainError(
      'validation_failed',
      'validation',
      `Invalid request: ${list.map((e) => `${e.field}: ${e.message}`).join('; ')}`,
      { errors: list },
    );
  }
  return instance;
}
