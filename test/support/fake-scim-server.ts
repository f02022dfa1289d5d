import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

type Json = Record<string, unknown>;

export interface LoggedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  body: unknown;
  status: number | 'dropped';
  /** True when the request changed (or would have changed) state: POST, PUT, PATCH, DELETE that was processed. */
  applied: boolean;
  at: number;
  /** An operation of a Bulk request (the Bulk request itself is logged as `POST /Bulk`, never applied). */
  bulk?: boolean;
}

/** Fault injection, each a probability per request (0..1) unless said otherwise. */
export interface Faults {
  /** 500 before processing. */
  errorRate: number;
  /** 429 with Retry-After before processing. */
  rateLimitRate: number;
  retryAfterSeconds: number;
  /** Socket destroyed before processing. */
  dropRate: number;
  /** Processed, then the socket destroyed before the answer: the client cannot know it happened. */
  dropAfterApplyRate: number;
  /** Every connection is refused (destroyed at once) while true: the app is down. */
  down: boolean;
  /** Added latency per request, ms. */
  latencyMs: number;
}

export interface FakeScimOptions {
  token?: string;
  /** What /ServiceProviderConfig declares for PATCH. */
  patchSupported?: boolean;
  /** AWS-like: PUT on /Groups is refused (400). */
  rejectGroupPut?: boolean;
  /** Refuse PATCH requests with more operations than this (400 tooMany). */
  maxOperations?: number;
  /** Refuse group member values without `type` (Webex-like). */
  requireMemberType?: boolean;
  /** Answer 401 to everything (credentials revoked). */
  unauthorized?: boolean;
  /** Serve an OAuth2 token endpoint at `/oauth/token` for this client; SCIM then takes only the tokens it issued. */
  oauthClient?: { clientId: string; clientSecret: string; expiresIn: number };
  /** Seed of the fault dice, so a test sees the same faults in the same request order. */
  seed?: number;
  /**
   * Serve `POST /Bulk` (RFC 7644 §3.7) and declare it with these limits; each operation is also
   * logged as its own request (`bulk: true`). `'refuse'` declares Bulk but answers 501 to it.
   */
  bulk?: false | 'refuse' | { maxOperations: number; maxPayloadSize: number };
}

const NO_FAULTS: Faults = {
  errorRate: 0,
  rateLimitRate: 0,
  retryAfterSeconds: 1,
  dropRate: 0,
  dropAfterApplyRate: 0,
  down: false,
  latencyMs: 0,
};

/**
 * A small stateful SCIM 2.0 server for tests and benchmarks: Users and Groups in memory, filters
 * `attr eq "value"`, PATCH (paths with sub-attributes, extension URNs, member value lists and
 * member filters), uniqueness of userName (409), a request log to count writes, and fault
 * injection (5xx, 429 + Retry-After, dropped connections before and after applying, outage).
 */
export class FakeScimServer {
  readonly users = new Map<string, Json>();
  readonly groups = new Map<string, Json>();
  readonly log: LoggedRequest[] = [];
  faults: Faults = { ...NO_FAULTS };
  options: Required<FakeScimOptions>;
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  baseUrl = '';
  tokenUrl = '';
  private readonly random: () => number;
  /** Tokens issued by the OAuth2 endpoint that are still accepted. */
  readonly issuedTokens = new Set<string>();
  tokenRequests = 0;
  /** When each connection refused while the app was down arrived (ms since the epoch). */
  readonly refusedAt: number[] = [];
  /** Requests being handled now, and the most there ever were at once. */
  inFlight = 0;
  maxInFlight = 0;

  constructor(options: FakeScimOptions = {}) {
    this.options = {
      token: options.token ?? 'fake-scim-token',
      patchSupported: options.patchSupported ?? true,
      rejectGroupPut: options.rejectGroupPut ?? false,
      maxOperations: options.maxOperations ?? 10_000,
      requireMemberType: options.requireMemberType ?? false,
      unauthorized: options.unauthorized ?? false,
      oauthClient: options.oauthClient ?? { clientId: '', clientSecret: '', expiresIn: 0 },
      seed: options.seed ?? 1,
      bulk: options.bulk ?? false,
    };
    this.random = mulberry32(this.options.seed);
  }

  async start(): Promise<string> {
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.keepAliveTimeout = 60_000;
    this.server.on('connection', (socket: Socket) => {
      if (this.faults.down) {
        this.refusedAt.push(Date.now());
        socket.destroy();
        return;
      }
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    const { port } = this.server.address() as { port: number };
    this.baseUrl = `http://127.0.0.1:${port}/scim/v2`;
    this.tokenUrl = `http://127.0.0.1:${port}/oauth/token`;
    return this.baseUrl;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /** Takes the app down (open connections dropped, new ones refused) or back up. */
  setDown(down: boolean): void {
    this.faults.down = down;
    if (down) for (const socket of this.sockets) socket.destroy();
  }

  clearLog(): void {
    this.log.length = 0;
  }

  /** Processed write requests (POST, PUT, PATCH, DELETE), optionally of one method or path prefix. */
  writes(filter: { method?: string; path?: string } = {}): LoggedRequest[] {
    return this.log.filter(
      (r) =>
        r.applied &&
        (!filter.method || r.method === filter.method) &&
        (!filter.path || r.path.startsWith(filter.path)),
    );
  }

  userByName(userName: string): Json | undefined {
    for (const user of this.users.values())
      if (String(user.userName).toLowerCase() === userName.toLowerCase()) return user;
    return undefined;
  }

  groupByName(displayName: string): Json[] {
    return [...this.groups.values()].filter((g) => g.displayName === displayName);
  }

  /** userNames of a group's members. */
  memberNames(group: Json): string[] {
    return ((group.members as { value: string }[] | undefined) ?? [])
      .map((m) =>
        String(this.users.get(m.value)?.userName ?? this.groups.get(m.value)?.displayName ?? `?${m.value}`),
      )
      .sort();
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/oauth/token') return this.token(req, res);
    const path = url.pathname.replace(/^\/scim\/v2/, '');
    const query = Object.fromEntries(url.searchParams.entries());
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = text;
    }
    const entry: LoggedRequest = {
      method: req.method ?? 'GET',
      path,
      query,
      body,
      status: 0,
      applied: false,
      at: Date.now(),
    };
    this.log.push(entry);
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    res.once('close', () => this.inFlight--);
    const write = entry.method !== 'GET';
    if (this.faults.latencyMs) await new Promise((r) => setTimeout(r, this.faults.latencyMs));
    if (this.faults.down || this.random() < this.faults.dropRate) {
      entry.status = 'dropped';
      req.socket.destroy();
      return;
    }
    if (this.random() < this.faults.errorRate)
      return this.send(res, entry, 500, error(500, 'injected failure'));
    if (this.random() < this.faults.rateLimitRate) {
      res.setHeader('Retry-After', String(this.faults.retryAfterSeconds));
      return this.send(res, entry, 429, error(429, 'slow down'));
    }
    const bearer = req.headers.authorization?.replace(/^Bearer /, '') ?? '';
    const authorised = this.options.oauthClient.clientId
      ? this.issuedTokens.has(bearer)
      : bearer === this.options.token;
    if (this.options.unauthorized || !authorised) {
      return this.send(res, entry, 401, error(401, 'bad token'));
    }
    let status: number;
    let out: unknown;
    let applied: boolean;
    if (path === '/Bulk' && entry.method === 'POST' && this.options.bulk) {
      [status, out, applied] = this.bulk(body);
    } else {
      [status, out] = this.routeOrError(entry.method, path, query, body);
      applied = entry.applied = write && status < 400;
    }
    if (applied && this.random() < this.faults.dropAfterApplyRate) {
      entry.status = 'dropped';
      req.socket.destroy();
      return;
    }
    this.send(res, entry, status, out);
  }

  /** OAuth2 client credentials (client_secret_basic). */
  private async token(req: IncomingMessage, res: ServerResponse): Promise<void> {
    for await (const _chunk of req) void _chunk;
    this.tokenRequests++;
    const { clientId, clientSecret, expiresIn } = this.options.oauthClient;
    const expected = `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString('base64')}`;
    if (!clientId || req.headers.authorization !== expected) {
      res
        .writeHead(401, { 'content-type': 'application/json' })
        .end(JSON.stringify({ error: 'invalid_client' }));
      return;
    }
    const token = randomUUID();
    this.issuedTokens.add(token);
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ access_token: token, token_type: 'Bearer', expires_in: expiresIn }));
  }

  private send(res: ServerResponse, entry: LoggedRequest, status: number, body: unknown): void {
    entry.status = status;
    if (body === undefined) {
      res.writeHead(status).end();
      return;
    }
    const text = JSON.stringify(body);
    res
      .writeHead(status, {
        'content-type': 'application/scim+json',
        'content-length': Buffer.byteLength(text),
      })
      .end(text);
  }

  private routeOrError(
    method: string,
    path: string,
    query: Record<string, string>,
    body: unknown,
  ): [number, unknown] {
    try {
      return this.route(method, path, query, body);
    } catch (e) {
      const err = e as { status?: number; scimType?: string; message: string };
      return [err.status ?? 500, error(err.status ?? 500, err.message, err.scimType)];
    }
  }

  /** `POST /Bulk`: operations in order, each through the same routes (and the per-request 500 dice). */
  private bulk(body: unknown): [number, unknown, boolean] {
    if (this.options.bulk === 'refuse') return [501, error(501, 'Bulk is not implemented'), false];
    const limits = this.options.bulk as { maxOperations: number; maxPayloadSize: number };
    const operations = (body as { Operations?: Json[] } | undefined)?.Operations;
    if (!Array.isArray(operations)) return [400, error(400, 'no Operations', 'invalidSyntax'), false];
    if (operations.length > limits.maxOperations || JSON.stringify(body).length > limits.maxPayloadSize)
      return [413, error(413, 'too many operations or too large'), false];
    let anyApplied = false;
    const results = operations.map((op) => {
      const method = String(op.method);
      const path = String(op.path);
      const entry: LoggedRequest = {
        method,
        path,
        query: {},
        body: op.data,
        status: 0,
        applied: false,
        at: Date.now(),
        bulk: true,
      };
      this.log.push(entry);
      const [status, out] =
        this.random() < this.faults.errorRate
          ? [500, error(500, 'injected failure')]
          : this.routeOrError(method, path, {}, op.data);
      entry.status = status;
      entry.applied = status < 400;
      anyApplied ||= entry.applied;
      const id = (out as { id?: string } | undefined)?.id;
      const location =
        status < 400 ? `${this.baseUrl}${method === 'POST' && id ? `${path}/${id}` : path}` : undefined;
      return {
        method,
        ...(op.bulkId !== undefined ? { bulkId: op.bulkId } : {}),
        ...(location ? { location } : {}),
        status: String(status),
        ...(status >= 400 ? { response: out } : {}),
      };
    });
    return [
      200,
      { schemas: ['urn:ietf:params:scim:api:messages:2.0:BulkResponse'], Operations: results },
      anyApplied,
    ];
  }

  private route(
    method: string,
    path: string,
    query: Record<string, string>,
    body: unknown,
  ): [number, unknown] {
    if (path === '/ServiceProviderConfig' && method === 'GET') {
      return [
        200,
        {
          schemas: ['urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig'],
          patch: { supported: this.options.patchSupported },
          filter: { supported: true, maxResults: 200 },
          bulk: this.options.bulk
            ? {
                supported: true,
                maxOperations: this.options.bulk === 'refuse' ? 1000 : this.options.bulk.maxOperations,
                maxPayloadSize: this.options.bulk === 'refuse' ? 1_048_576 : this.options.bulk.maxPayloadSize,
              }
            : { supported: false },
        },
      ];
    }
    const match = /^\/(Users|Groups)(?:\/([^/]+))?$/.exec(path);
    if (!match) throw httpError(404, `no route ${path}`);
    const kind = match[1] as 'Users' | 'Groups';
    const id = match[2] ? decodeURIComponent(match[2]) : undefined;
    const store = kind === 'Users' ? this.users : this.groups;
    if (!id) {
      if (method === 'GET') return [200, this.list(store, query.filter)];
      if (method === 'POST') return [201, this.create(kind, body as Json)];
      throw httpError(405, 'method not allowed');
    }
    const current = store.get(id);
    if (!current) throw httpError(404, `${kind} ${id} not found`);
    switch (method) {
      case 'GET':
        return [200, current];
      case 'DELETE':
        store.delete(id);
        if (kind === 'Users')
          for (const g of this.groups.values())
            g.members = ((g.members as { value: string }[]) ?? []).filter((m) => m.value !== id);
        return [204, undefined];
      case 'PUT': {
        if (kind === 'Groups' && this.options.rejectGroupPut)
          throw httpError(400, 'PUT is not supported on groups', 'invalidSyntax');
        const next = { ...(body as Json), id, meta: current.meta };
        this.validate(kind, next, id);
        store.set(id, next);
        return [200, next];
      }
      case 'PATCH': {
        if (!this.options.patchSupported) throw httpError(405, 'PATCH not supported');
        const ops = (body as { Operations?: Json[] }).Operations ?? [];
        if (ops.length > this.options.maxOperations)
          throw httpError(
            400,
            `too many operations (${ops.length} > ${this.options.maxOperations})`,
            'tooMany',
          );
        const next = structuredClone(current);
        for (const op of ops) applyOp(next, op, this.options.requireMemberType);
        this.validate(kind, next, id);
        store.set(id, next);
        return [200, next];
      }
      default:
        throw httpError(405, 'method not allowed');
    }
  }

  private create(kind: 'Users' | 'Groups', body: Json): Json {
    const id = randomUUID();
    const resource: Json = {
      ...body,
      id,
      meta: { resourceType: kind === 'Users' ? 'User' : 'Group', created: new Date().toISOString() },
    };
    this.validate(kind, resource, id);
    (kind === 'Users' ? this.users : this.groups).set(id, resource);
    return resource;
  }

  private validate(kind: 'Users' | 'Groups', resource: Json, id: string): void {
    if (kind === 'Users') {
      if (typeof resource.userName !== 'string' || !resource.userName)
        throw httpError(400, 'userName is required', 'invalidValue');
      const other = this.userByName(resource.userName);
      if (other && other.id !== id)
        throw httpError(409, `userName ${resource.userName} is taken`, 'uniqueness');
    } else {
      if (typeof resource.displayName !== 'string')
        throw httpError(400, 'displayName is required', 'invalidValue');
      const members = (resource.members as { value?: string; type?: string }[] | undefined) ?? [];
      for (const m of members) {
        if (this.options.requireMemberType && !m.type)
          throw httpError(400, 'member type is required', 'invalidValue');
        if (!m.value || (!this.users.has(m.value) && !this.groups.has(m.value)))
          throw httpError(400, `no such member ${m.value}`, 'invalidValue');
      }
      const seen = new Set<string>();
      resource.members = members.filter((m) => !seen.has(m.value!) && seen.add(m.value!));
    }
  }

  private list(store: Map<string, Json>, filter: string | undefined): Json {
    let resources = [...store.values()];
    if (filter) {
      // `attr eq "value"`, optionally several joined by `or`.
      const term = /(\w+)\s+eq\s+"((?:[^"\\]|\\.)*)"/y;
      const terms: [string, string][] = [];
      let rest = filter.trim();
      for (;;) {
        term.lastIndex = 0;
        const m = term.exec(rest);
        if (!m) throw httpError(400, `unsupported filter ${filter}`, 'invalidFilter');
        terms.push([m[1]!, (JSON.parse(`"${m[2]}"`) as string).toLowerCase()]);
        rest = rest.slice(m[0].length).trim();
        if (rest === '') break;
        if (!rest.startsWith('or ')) throw httpError(400, `unsupported filter ${filter}`, 'invalidFilter');
        rest = rest.slice(3).trim();
      }
      resources = resources.filter((r) =>
        terms.some(([attr, value]) => String(r[attr] ?? '').toLowerCase() === value),
      );
    }
    return {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:ListResponse'],
      totalResults: resources.length,
      itemsPerPage: resources.length,
      startIndex: 1,
      Resources: resources,
    };
  }
}

/** A small seeded PRNG (mulberry32). */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function applyOp(resource: Json, op: Json, requireMemberType: boolean): void {
  const kind = String(op.op).toLowerCase();
  const path = op.path as string | undefined;
  if (!path) {
    if (kind === 'remove') throw httpError(400, 'remove needs a path', 'noTarget');
    Object.assign(resource, op.value as Json);
    return;
  }
  const memberFilter = /^members\[value eq "([^"]+)"\]$/.exec(path);
  if (memberFilter) {
    if (kind !== 'remove') throw httpError(400, 'only remove is supported on a member filter', 'invalidPath');
    resource.members = ((resource.members as { value: string }[]) ?? []).filter(
      (m) => m.value !== memberFilter[1],
    );
    return;
  }
  if (path === 'members') {
    const values = (Array.isArray(op.value) ? op.value : op.value ? [op.value] : []) as {
      value: string;
      type?: string;
    }[];
    if (requireMemberType && kind !== 'remove' && values.some((v) => !v.type))
      throw httpError(400, 'member type is required', 'invalidValue');
    const current = (resource.members as { value: string }[]) ?? [];
    if (kind === 'add') resource.members = [...current, ...values];
    else if (kind === 'replace') resource.members = values;
    else if (kind === 'remove') {
      const gone = new Set(values.map((v) => v.value));
      resource.members = values.length ? current.filter((m) => !gone.has(m.value)) : [];
    }
    return;
  }
  const [container, keys] = target(resource, path);
  const last = keys.pop()!;
  let node = container;
  for (const key of keys) {
    if (typeof node[key] !== 'object' || node[key] === null) {
      if (kind === 'remove') return;
      node[key] = {};
    }
    node = node[key] as Json;
  }
  if (kind === 'remove') delete node[last];
  else if (kind === 'add' && Array.isArray(node[last]) && Array.isArray(op.value))
    node[last] = [...(node[last] as unknown[]), ...(op.value as unknown[])];
  else node[last] = op.value;
}

/** Splits `urn:…:Ext:attr.sub` / `attr.sub` into the object holding it and the key path. */
function target(resource: Json, path: string): [Json, string[]] {
  if (path.startsWith('urn:')) {
    const cut = path.lastIndexOf(':');
    const urn = path.slice(0, cut);
    const rest = path.slice(cut + 1);
    if (!resource[urn] || typeof resource[urn] !== 'object') resource[urn] = {};
    return [resource[urn] as Json, rest.split('.')];
  }
  return [resource, path.split('.')];
}

function error(status: number, detail: string, scimType?: string): Json {
  return {
    schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'],
    status: String(status),
    detail,
    ...(scimType ? { scimType } : {}),
  };
}

function httpError(
  status: number,
  message: string,
  scimType?: string,
): Error & { status: number; scimType?: string } {
  return Object.assign(new Error(message), { status, scimType });
}
