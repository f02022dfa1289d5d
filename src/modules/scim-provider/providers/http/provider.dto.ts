import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsNotEmpty,
  IsNumber,
  IsOptional,
  IsString,
  IsUrl,
  IsUUID,
  Max,
  MaxLength,
  Min,
  ValidateIf,
  ValidateNested,
} from 'class-validator';
import { ListQueryDto } from '../../../../platform/http/openapi.js';
import { PROFILE_NAMES, type ProfileName } from '../../client/compatibility.js';
import type { DeprovisionAction } from '../provider.entity.js';

const URL_OPTIONS = { protocols: ['http', 'https'], require_protocol: true, require_tld: false };
const ACTIONS: DeprovisionAction[] = ['delete', 'deactivate', 'none'];

/** `bearer`: a static token. `oauth2`: client credentials against `tokenUrl` (token cached and renewed). Secrets are write-only. */
export class ProviderAuthDto {
  @ApiProperty({ enum: ['bearer', 'oauth2'] }) @IsIn(['bearer', 'oauth2']) type: 'bearer' | 'oauth2';

  @ApiPropertyOptional({
    description: 'Bearer token (write-only; required for bearer on create)',
    writeOnly: true,
  })
  @ValidateIf((o: ProviderAuthDto) => o.type === 'bearer' && o.token !== undefined)
  @IsString()
  @IsNotEmpty()
  @MaxLength(8192)
  token?: string;

  @ApiPropertyOptional({ description: 'OAuth2 token endpoint' })
  @ValidateIf((o: ProviderAuthDto) => o.type === 'oauth2')
  @IsUrl(URL_OPTIONS)
  tokenUrl?: string;

  @ApiPropertyOptional()
  @ValidateIf((o: ProviderAuthDto) => o.type === 'oauth2')
  @IsString()
  @IsNotEmpty()
  @MaxLength(1024)
  clientId?: string;

  @ApiPropertyOptional({
    description: 'OAuth2 client secret (write-only; required for oauth2 on create)',
    writeOnly: true,
  })
  @ValidateIf((o: ProviderAuthDto) => o.type === 'oauth2' && o.clientSecret !== undefined)
  @IsString()
  @IsNotEmpty()
  @MaxLength(8192)
  clientSecret?: string;

  @ApiPropertyOptional({ type: String, nullable: true, description: 'OAuth2 scope' })
  @IsOptional()
  @IsString()
  @MaxLength(1024)
  scope?: string | null;
}

export class ProviderTlsDto {
  @ApiPropertyOptional({ default: true, description: 'Verify the app’s TLS certificate' })
  @IsOptional()
  @IsBoolean()
  verify?: boolean;
  @ApiPropertyOptional({ type: String, nullable: true, description: 'PEM CA bundle to trust for this app' })
  @IsOptional()
  @IsString()
  @MaxLength(200_000)
  caBundle?: string | null;
}

export class ProviderScopeDto {
  @ApiPropertyOptional({
    enum: ['all', 'groups'],
    default: 'all',
    description: 'All users, or direct members of `userGroupIds`',
  })
  @IsOptional()
  @IsIn(['all', 'groups'])
  users?: 'all' | 'groups';
  @ApiPropertyOptional({ type: [String], format: 'uuid' })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(1000)
  @IsUUID('all', { each: true })
  userGroupIds?: string[];
  @ApiPropertyOptional({ default: false }) @IsOptional() @IsBoolean() excludeServiceAccounts?: boolean;
  @ApiPropertyOptional({ enum: ['all', 'selected', 'none'], default: 'all' })
  @IsOptional()
  @IsIn(['all', 'selected', 'none'])
  groups?: 'all' | 'selected' | 'none';
  @ApiPropertyOptional({ type: [String], format: 'uuid' })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(10_000)
  @IsUUID('all', { each: true })
  groupIds?: string[];
}

export class ProviderDeprovisionDto {
  @ApiPropertyOptional({
    enum: ACTIONS,
    default: 'delete',
    description: 'When the object is deleted from the directory',
  })
  @IsOptional()
  @IsIn(ACTIONS)
  deleted?: DeprovisionAction;
  @ApiPropertyOptional({
    enum: ACTIONS,
    default: 'deactivate',
    description: 'When the object leaves the provider’s scope (groups: `deactivate` leaves them alone)',
  })
  @IsOptional()
  @IsIn(ACTIONS)
  outOfScope?: DeprovisionAction;
}

export class ProviderScheduleDto {
  @ApiPropertyOptional({ example: '0 */4 * * *', description: 'Cron expression (5 or 6 fields)' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  cron?: string;
  @ApiPropertyOptional({ minimum: 1, description: 'Or: every N minutes' })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(525_600)
  intervalMinutes?: number;
  @ApiPropertyOptional({ example: 'Europe/Berlin' })
  @IsOptional()
  @IsString()
  @MaxLength(100)
  timezone?: string;
  @ApiPropertyOptional({ description: 'Stop scheduled runs (deltas and manual runs continue)' })
  @IsOptional()
  @IsBoolean()
  paused?: boolean;
}

export class ProviderRetryDto {
  @ApiPropertyOptional({ minimum: 1, maximum: 1000, default: 50 })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(1000)
  maxAttempts?: number;
  @ApiPropertyOptional({ minimum: 0.05, maximum: 600, default: 1 })
  @IsOptional()
  @IsNumber()
  @Min(0.05)
  @Max(600)
  baseDelaySeconds?: number;
  @ApiPropertyOptional({ minimum: 0.1, maximum: 3600, default: 30 })
  @IsOptional()
  @IsNumber()
  @Min(0.1)
  @Max(3600)
  maxDelaySeconds?: number;
}

/** Provider settings (create, and the shape a merge patch is validated against). */
export class ProviderBodyDto {
  @ApiProperty({ example: 'Slack' }) @IsString() @IsNotEmpty() @MaxLength(200) name: string;
  @ApiProperty({ example: 'https://api.slack.com/scim/v2', description: 'The app’s SCIM base URL' })
  @IsUrl(URL_OPTIONS)
  @MaxLength(2048)
  url: string;
  @ApiProperty({ type: ProviderAuthDto })
  @ValidateNested()
  @Type(() => ProviderAuthDto)
  auth: ProviderAuthDto;
  @ApiPropertyOptional({ type: ProviderTlsDto })
  @IsOptional()
  @ValidateNested()
  @Type(() => ProviderTlsDto)
  tls?: ProviderTlsDto;
  @ApiPropertyOptional({
    enum: PROFILE_NAMES,
    default: 'default',
    description: 'Compatibility profile (vendor quirks)',
  })
  @IsOptional()
  @IsIn(PROFILE_NAMES)
  compatibility?: ProfileName;
  @ApiPropertyOptional({
    type: Number,
    nullable: true,
    description: 'PATCH operations per request (overrides the profile)',
  })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(10_000)
  maxPatchOperations?: number | null;
  @ApiPropertyOptional({
    type: [String],
    nullable: true,
    description: 'Ordered provider:user mapping ids; null = managed defaults',
  })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(100)
  @IsUUID('all', { each: true })
  userMappings?: string[] | null;
  @ApiPropertyOptional({
    type: [String],
    nullable: true,
    description: 'Ordered provider:group mapping ids; null = managed defaults',
  })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(100)
  @IsUUID('all', { each: true })
  groupMappings?: string[] | null;
  @ApiPropertyOptional({ type: ProviderScopeDto })
  @IsOptional()
  @ValidateNested()
  @Type(() => ProviderScopeDto)
  scope?: ProviderScopeDto;
  @ApiPropertyOptional({ type: ProviderDeprovisionDto })
  @IsOptional()
  @ValidateNested()
  @Type(() => ProviderDeprovisionDto)
  deprovision?: ProviderDeprovisionDto;
  @ApiPropertyOptional({
    type: ProviderScheduleDto,
    nullable: true,
    description: 'Full-sync schedule; null = manual only',
  })
  @IsOptional()
  @ValidateNested()
  @Type(() => ProviderScheduleDto)
  schedule?: ProviderScheduleDto | null;
  @ApiPropertyOptional({
    minimum: 1,
    maximum: 256,
    default: 8,
    description: 'Requests in flight per worker process',
  })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(256)
  maxConcurrency?: number;
  @ApiPropertyOptional({
    type: Number,
    nullable: true,
    description: 'Requests per second per worker process; null = the profile’s default',
  })
  @IsOptional()
  @IsNumber()
  @Min(0.1)
  @Max(100_000)
  maxRequestsPerSecond?: number | null;
  @ApiPropertyOptional({ minimum: 1, maximum: 300, default: 30 })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(300)
  timeoutSeconds?: number;
  @ApiPropertyOptional({ type: ProviderRetryDto })
  @IsOptional()
  @ValidateNested()
  @Type(() => ProviderRetryDto)
  retry?: ProviderRetryDto;
  @ApiPropertyOptional({ default: false, description: 'Record what would be sent; send no write' })
  @IsOptional()
  @IsBoolean()
  dryRun?: boolean;
  @ApiPropertyOptional({
    type: String,
    format: 'uuid',
    nullable: true,
    description: 'The source that represents the same system (no echo)',
  })
  @IsOptional()
  @IsUUID()
  linkedSourceId?: string | null;
  @ApiPropertyOptional({
    default: false,
    description: 'Paused providers push nothing; resuming starts a full sync',
  })
  @IsOptional()
  @IsBoolean()
  paused?: boolean;
}

export class ProviderAuthViewDto {
  @ApiProperty({ enum: ['bearer', 'oauth2'] }) type: 'bearer' | 'oauth2';
  @ApiPropertyOptional() tokenUrl?: string;
  @ApiPropertyOptional() clientId?: string;
  @ApiPropertyOptional({ type: String, nullable: true }) scope?: string | null;
  @ApiProperty({ description: 'A secret is stored (it is never returned)' }) secretSet: boolean;
}

export class ProviderDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty() name: string;
  @ApiProperty() url: string;
  @ApiProperty({ type: ProviderAuthViewDto }) auth: ProviderAuthViewDto;
  @ApiProperty({ type: ProviderTlsDto }) tls: ProviderTlsDto;
  @ApiProperty({ enum: PROFILE_NAMES }) compatibility: ProfileName;
  @ApiProperty({ type: Number, nullable: true }) maxPatchOperations: number | null;
  @ApiProperty({ type: [String], nullable: true }) userMappings: string[] | null;
  @ApiProperty({ type: [String], nullable: true }) groupMappings: string[] | null;
  @ApiProperty({ type: ProviderScopeDto }) scope: ProviderScopeDto;
  @ApiProperty({ type: ProviderDeprovisionDto }) deprovision: ProviderDeprovisionDto;
  @ApiProperty({ type: ProviderScheduleDto, nullable: true }) schedule: ProviderScheduleDto | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) nextSyncAt: string | null;
  @ApiProperty() maxConcurrency: number;
  @ApiProperty({ type: Number, nullable: true }) maxRequestsPerSecond: number | null;
  @ApiProperty() timeoutSeconds: number;
  @ApiProperty({ type: ProviderRetryDto }) retry: ProviderRetryDto;
  @ApiProperty() dryRun: boolean;
  @ApiProperty({ type: String, nullable: true }) linkedSourceId: string | null;
  @ApiProperty() paused: boolean;
  @ApiProperty({
    type: String,
    nullable: true,
    description: 'Why the provider is paused (e.g. the app answered 401)',
  })
  pausedReason: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) pausedAt: string | null;
  @ApiProperty() version: number;
  @ApiProperty({ type: String, format: 'date-time' }) createdAt: string;
  @ApiProperty({ type: String, format: 'date-time' }) updatedAt: string;
}

export class RunCountsDto {
  @ApiProperty() created: number;
  @ApiProperty() updated: number;
  @ApiProperty() deleted: number;
  @ApiProperty() deactivated: number;
  @ApiProperty() unchanged: number;
  @ApiProperty() skipped: number;
  @ApiProperty() failed: number;
}

export class RunErrorDto {
  @ApiProperty({ enum: ['user', 'group'] }) objectType: string;
  @ApiProperty({ format: 'uuid' }) objectId: string;
  @ApiProperty({
    description: 'transient, rateLimited, notFound, conflict, rejected, fatal, mapping, busy, reference',
  })
  kind: string;
  @ApiProperty() message: string;
}

export class RunDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ enum: ['queued', 'running', 'succeeded', 'partial', 'failed'] }) status: string;
  @ApiProperty({ enum: ['manual', 'schedule', 'resume'] }) trigger: string;
  @ApiProperty({ enum: ['start', 'users', 'groups', 'cleanup', 'done'] }) phase: string;
  @ApiProperty() dryRun: boolean;
  @ApiProperty({ type: Number, nullable: true, description: 'Objects in scope; null until counted' }) total:
    number | null;
  @ApiProperty({ description: 'Objects processed so far' }) done: number;
  @ApiProperty({ type: RunCountsDto }) counts: RunCountsDto;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) startedAt: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) finishedAt: string | null;
  @ApiProperty({ type: String, nullable: true }) message: string | null;
  @ApiProperty({ type: [RunErrorDto] }) errors: RunErrorDto[];
}

export class RunStartedDto {
  @ApiProperty({ format: 'uuid' }) runId: string;
}

export class ConnectionDto {
  @ApiProperty({ enum: ['user', 'group'] }) objectType: string;
  @ApiProperty({ format: 'uuid', description: 'Directory id' }) localId: string;
  @ApiProperty({ type: String, nullable: true, description: 'The app’s id' }) remoteId: string | null;
  @ApiProperty({ enum: ['pending', 'synced', 'failed', 'deactivated', 'skipped'] }) state: string;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) lastSyncedAt: string | null;
  @ApiProperty({ type: String, nullable: true }) lastError: string | null;
  @ApiProperty({ type: String, nullable: true }) lastErrorKind: string | null;
  @ApiProperty({ description: 'Failed attempts since the last success' }) attempts: number;
  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    nullable: true,
    description: 'What we last sent (with ?include=payload)',
  })
  lastSent?: Record<string, unknown> | null;
}

export class ObjectsQueryDto extends ListQueryDto {
  @ApiPropertyOptional({ enum: ['user', 'group'] }) @IsOptional() @IsIn(['user', 'group']) type?:
    'user' | 'group';
  @ApiPropertyOptional({ enum: ['payload'], description: 'Include what we last sent' })
  @IsOptional()
  @IsIn(['payload'])
  include?: 'payload';
}

export class SyncObjectDto {
  @ApiProperty({ enum: ['user', 'group'] }) @IsIn(['user', 'group']) type: 'user' | 'group';
  @ApiProperty({ format: 'uuid' }) @IsUUID() id: string;
}

export class SyncObjectResultDto {
  @ApiProperty({
    enum: ['created', 'updated', 'unchanged', 'deleted', 'deactivated', 'skipped', 'failed', 'busy'],
  })
  outcome: string;
  @ApiProperty({ type: String, nullable: true }) remoteId: string | null;
  @ApiPropertyOptional({ type: RunErrorDto }) error?: { kind: string; message: string };
  @ApiPropertyOptional({ type: [String] }) notes?: string[];
  @ApiProperty({ description: 'True when the provider is in dry-run mode (nothing was written)' })
  dryRun: boolean;
}

export class DryRunRequestDto {
  @ApiProperty() id: string;
  @ApiProperty({ type: String, format: 'uuid', nullable: true }) runId: string | null;
  @ApiProperty({ enum: ['user', 'group'] }) objectType: string;
  @ApiProperty({ format: 'uuid' }) objectId: string;
  @ApiProperty({ enum: ['POST', 'PUT', 'PATCH', 'DELETE'] }) method: string;
  @ApiProperty({ example: '/Users/123' }) path: string;
  @ApiProperty({ type: 'object', additionalProperties: true, nullable: true }) body: unknown;
  @ApiProperty({ type: String, format: 'date-time' }) createdAt: string;
}

export class DryRunQueryDto extends ListQueryDto {
  @ApiPropertyOptional({ format: 'uuid' }) @IsOptional() @IsUUID() runId?: string;
}
