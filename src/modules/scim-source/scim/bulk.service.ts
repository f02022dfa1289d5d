import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { BULK_REQUEST_SCHEMA, BULK_RESPONSE_SCHEMA, ScimError } from '../../../lib/scim/schema.types.js';
import { LOGGER } from '../../../platform/logging/logging.module.js';
import type { ScimResourceTypeName } from '../links/link.entity.js';
import type { LinkRow } from '../links/links.repository.js';
import type { SourcePrincipal } from '../sources/sources.service.js';
import { BULK_MAX_OPERATIONS } from './discovery.js';
import { etagOfVersion } from './representation.js';
import { ScimCommands } from './scim-commands.js';
import { toScimError, type ScimErrorBody } from './scim-http.js';
import { ScimQueryService } from './scim-query.service.js';

type Method = 'POST' | 'PUT' | 'PATCH' | 'DELETE';

interface BulkOperation {
  index: number;
  method: Method;
  bulkId?: string;
  version?: string;
  path: string;
  data?: unknown;
  /** bulkIds this operation refers to (in `path` or `data`). */
  references: Set<string>;
}

export interface BulkOperationResult {
  method: Method;
  bulkId?: string;
  version?: string;
  location?: string;
  status: string;
  response?: ScimErrorBody;
}

const BULK_ID_REFERENCE = /^bulkId:(.+)$/;
const RESOURCE_PATH = /^\/(Users|Groups)(?:\/([^/]+))?$/i;

const invalidSyntax = (message: string) => new ScimError(400, 'invalidSyntax', message);

/**
 * RFC 7644 §3.7 Bulk: each operation runs as its own unit of work through the same commands as
 * the resource endpoints. `bulkId:` references (in paths, member values, the manager) resolve to
 * the ids created earlier in the request; an operation whose references are not resolved yet waits
 * for the operation that creates them, so order in the request does not matter. `failOnErrors`
 * stops processing after that many errors.
 */
@Injectable()
export class ScimBulkService {
  constructor(
    private readonly commands: ScimCommands,
    private readonly query: ScimQueryService,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async execute(
    source: SourcePrincipal,
    body: unknown,
  ): Promise<{ schemas: string[]; Operations: BulkOperationResult[] }> {
    const { operations, failOnErrors } = parseBulkRequest(body);
    const created = new Map<string, { type: ScimResourceTypeName; id: string }>();
    const failedBulkIds = new Set<string>();
    const results: BulkOperationResult[] = [];
    let errors = 0;
    let pending = operations;

    while (pending.length > 0) {
      const waiting: BulkOperation[] = [];
      let progressed = false;
      for (const operation of pending) {
        if (failOnErrors !== undefined && errors >= failOnErrors) return response(results);
        const unresolved = [...operation.references].filter(
          (ref) => !created.has(ref) && !failedBulkIds.has(ref),
        );
        const waitsForLater = unresolved.some((ref) =>
          pending.some((other) => other !== operation && other.bulkId === ref && other.method === 'POST'),
        );
        if (waitsForLater) {
          waiting.push(operation);
          continue;
        }
        progressed = true;
        const result = await this.run(source, operation, created, failedBulkIds);
        if (Number(result.status) >= 400) {
          errors++;
          if (operation.bulkId) failedBulkIds.add(operation.bulkId);
        }
        results.push(result);
      }
      if (!progressed) {
        // Every remaining operation waits for another: a cycle of bulkId references.
        for (const operation of waiting) {
          if (failOnErrors !== undefined && errors >= failOnErrors) break;
          errors++;
          results.push(
            failure(
              operation,
              new ScimError(409, 'invalidValue', 'Circular bulkId references cannot be resolved'),
            ),
          );
        }
        break;
      }
      pending = waiting;
    }
    return response(results);
  }

  private async run(
    source: SourcePrincipal,
    operation: BulkOperation,
    created: Map<string, { type: ScimResourceTypeName; id: string }>,
    failedBulkIds: Set<string>,
  ): Promise<BulkOperationResult> {
    try {
      for (const ref of operation.references) {
        if (failedBulkIds.has(ref))
          throw new ScimError(409, 'invalidValue', `bulkId "${ref}" refers to an operation that failed`);
        if (!created.has(ref))
          throw new ScimError(
            409,
            'invalidValue',
            `bulkId "${ref}" is not created by any operation of this request`,
          );
      }
      const resolve = (value: string): string => {
        const match = BULK_ID_REFERENCE.exec(value);
        return match ? created.get(match[1]!)!.id : value;
      };
      const path = operation.path.split('/').map(resolve).join('/');
      const data = replaceReferences(operation.data, resolve);
      const match = RESOURCE_PATH.exec(path);
      if (!match)
        throw new ScimError(
          400,
          'invalidPath',
          `"${operation.path}" is not /Users, /Groups or a resource under them`,
        );
      const type: ScimResourceTypeName = match[1]!.toLowerCase() === 'users' ? 'User' : 'Group';
      const id = match[2];
      const commands = this.commands.of(type);
      if (operation.method === 'POST') {
        if (id !== undefined)
          throw new ScimError(400, 'invalidPath', 'POST creates a resource: its path is /Users or /Groups');
        const link = await commands.create(source, data);
        if (operation.bulkId) created.set(operation.bulkId, { type, id: link.id });
        return this.success(source, operation, 201, link);
      }
      if (id === undefined)
        throw new ScimError(
          400,
          'invalidPath',
          `${operation.method} needs a resource path such as /Users/{id}`,
        );
      if (operation.method === 'DELETE') {
        await commands.delete(source, id, operation.version);
        return { method: operation.method, ...bulkIdOf(operation), status: '204' };
      }
      const link =
        operation.method === 'PUT'
          ? await commands.replace(source, id, data, operation.version)
          : await commands.patch(source, id, data, operation.version);
      return this.success(source, operation, 200, link);
    } catch (error) {
      const envelope = toScimError(error);
      if (envelope.unexpected)
        this.logger.error({ err: error, sourceId: source.id }, 'unhandled error in a bulk operation');
      return failure(operation, envelope);
    }
  }

  private success(
    source: SourcePrincipal,
    operation: BulkOperation,
    status: number,
    link: LinkRow,
  ): BulkOperationResult {
    return {
      method: operation.method,
      ...bulkIdOf(operation),
      version: etagOfVersion(link.version),
      location: `${this.query.baseUrl(source)}/${link.resourceType === 'User' ? 'Users' : 'Groups'}/${link.id}`,
      status: String(status),
    };
  }
}

function bulkIdOf(operation: BulkOperation): { bulkId?: string } {
  return operation.bulkId !== undefined ? { bulkId: operation.bulkId } : {};
}

function failure(
  operation: BulkOperation,
  error: ScimError | (ScimErrorBody & { unexpected?: boolean }),
): BulkOperationResult {
  const { unexpected: _unexpected, ...envelope } = error instanceof ScimError ? toScimError(error) : error;
  return { method: operation.method, ...bulkIdOf(operation), status: envelope.status, response: envelope };
}

function response(results: BulkOperationResult[]) {
  return { schemas: [BULK_RESPONSE_SCHEMA], Operations: results };
}

function replaceReferences(value: unknown, resolve: (text: string) => string): unknown {
  if (typeof value === 'string') return resolve(value);
  if (Array.isArray(value)) return value.map((item) => replaceReferences(item, resolve));
  if (typeof value === 'object' && value !== null) {
    const result: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      Object.defineProperty(result, key, {
        value: replaceReferences(item, resolve),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return result;
  }
  return value;
}

function collectReferences(value: unknown, into: Set<string>, depth = 0): void {
  if (depth > 32) return;
  if (typeof value === 'string') {
    const match = BULK_ID_REFERENCE.exec(value);
    if (match) into.add(match[1]!);
  } else if (Array.isArray(value)) {
    for (const item of value) collectReferences(item, into, depth + 1);
  } else if (typeof value === 'object' && value !== null) {
    for (const item of Object.values(value)) collectReferences(item, into, depth + 1);
  }
}

function field(record: Record<string, unknown>, name: string): unknown {
  const key = Object.keys(record).find((k) => k.toLowerCase() === name.toLowerCase());
  return key === undefined ? undefined : record[key];
}

/** Validates a BulkRequest message (RFC 7644 §3.7.1) within the advertised limits. */
export function parseBulkRequest(body: unknown): { operations: BulkOperation[]; failOnErrors?: number } {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw invalidSyntax('A bulk request must be a JSON object');
  const record = body as Record<string, unknown>;
  const schemas = field(record, 'schemas');
  if (
    !Array.isArray(schemas) ||
    !schemas.some((s) => typeof s === 'string' && s.toLowerCase() === BULK_REQUEST_SCHEMA.toLowerCase())
  ) {
    throw invalidSyntax(`A bulk request must declare the schema "${BULK_REQUEST_SCHEMA}"`);
  }
  const failOnErrors = field(record, 'failOnErrors');
  if (
    failOnErrors !== undefined &&
    (typeof failOnErrors !== 'number' || !Number.isInteger(failOnErrors) || failOnErrors < 1)
  ) {
    throw new ScimError(400, 'invalidValue', '"failOnErrors" must be a positive integer');
  }
  const raw = field(record, 'Operations');
  if (!Array.isArray(raw) || raw.length === 0)
    throw invalidSyntax('A bulk request needs a non-empty "Operations" array');
  if (raw.length > BULK_MAX_OPERATIONS) {
    throw new ScimError(
      413,
      undefined,
      `A bulk request may carry at most ${BULK_MAX_OPERATIONS} operations (got ${raw.length})`,
    );
  }
  const seen = new Set<string>();
  const operations = raw.map((item, index): BulkOperation => {
    const where = `Operations[${index}]`;
    if (typeof item !== 'object' || item === null || Array.isArray(item))
      throw invalidSyntax(`${where} must be an object`);
    const op = item as Record<string, unknown>;
    const method = field(op, 'method');
    const upper = typeof method === 'string' ? method.toUpperCase() : '';
    if (upper !== 'POST' && upper !== 'PUT' && upper !== 'PATCH' && upper !== 'DELETE') {
      throw invalidSyntax(`${where}.method must be POST, PUT, PATCH or DELETE`);
    }
    const path = field(op, 'path');
    if (typeof path !== 'string' || path.length > 1024)
      throw invalidSyntax(`${where}.path must be a string such as "/Users"`);
    const bulkId = field(op, 'bulkId');
    if (bulkId !== undefined && (typeof bulkId !== 'string' || bulkId === '' || bulkId.length > 256)) {
      throw invalidSyntax(`${where}.bulkId must be a non-empty string`);
    }
    if (upper === 'POST' && bulkId === undefined)
      throw invalidSyntax(`${where}: a POST operation needs a bulkId`);
    if (typeof bulkId === 'string') {
      if (seen.has(bulkId))
        throw new ScimError(400, 'invalidValue', `${where}: bulkId "${bulkId}" is used twice`);
      seen.add(bulkId);
    }
    const version = field(op, 'version');
    if (version !== undefined && typeof version !== 'string')
      throw invalidSyntax(`${where}.version must be an ETag string`);
    const data = field(op, 'data');
    if (
      (upper === 'POST' || upper === 'PUT' || upper === 'PATCH') &&
      (typeof data !== 'object' || data === null || Array.isArray(data))
    ) {
      throw invalidSyntax(`${where}: ${upper} needs "data", a JSON object`);
    }
    const references = new Set<string>();
    collectReferences(path.split('/'), references);
    collectReferences(data, references);
    if (typeof bulkId === 'string') references.delete(bulkId);
    return {
      index,
      method: upper,
      ...(typeof bulkId === 'string' ? { bulkId } : {}),
      ...(typeof version === 'string' ? { version } : {}),
      path,
      ...(data !== undefined ? { data } : {}),
      references,
    };
  });
  return { operations, ...(typeof failOnErrors === 'number' ? { failOnErrors } : {}) };
}
