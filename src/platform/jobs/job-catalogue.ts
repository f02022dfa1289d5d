/**
 * The one job catalogue: every job name the service enqueues, with its payload type, grouped into
 * processor queues. A processor queue is handled by exactly one processor, which switches
 * exhaustively over the names of its queue (see {@link JobProcessor}). Payloads carry ids, never
 * snapshots: a job re-reads the state it acts on when it runs, so a job that runs late or twice is
 * still right.
 *
 * (graphile-worker's own `queue_name`, which makes jobs run one at a time, is a per-job option of
 * `JobQueue.addJob`, unrelated to this grouping.)
 */
export type SyncObjectType = 'user' | 'group';

export interface JobPayloads {
  /** Fan the directory outbox (undispatched change events) out to push jobs. Runs serially. */
  'scim-provider.dispatch': Record<string, never>;
  /** Bring one object of one provider up to date (create, update, deprovision or nothing). */
  'scim-provider.push': {
    providerId: string;
    objectType: SyncObjectType;
    objectId: string;
    /** Retries so far (transient failures, busy object). */
    attempt?: number;
    /** When the directory change behind this push happened (ISO), for the delta latency metric. */
    since?: string;
  };
  /** Start a full sync run: count the objects in scope, cut them into pages, enqueue the pages. */
  'scim-provider.sync-start': { runId: string };
  /** Push one keyset page of a full sync run. */
  'scim-provider.sync-page': { runId: string; pageId: string; attempt?: number };
  /** After the pages of a run: deprovision what we created that is no longer in scope, finish the run. */
  'scim-provider.sync-cleanup': { runId: string; attempt?: number };
  /** Apply the out-of-scope action to connections whose objects left the provider's scope. */
  'scim-provider.reconcile-scope': { providerId: string; attempt?: number };
}

export type JobName = keyof JobPayloads;

/** Processor queues: which processor handles which job names. */
export const JOB_QUEUES = {
  'scim-provider': [
    'scim-provider.dispatch',
    'scim-provider.push',
    'scim-provider.sync-start',
    'scim-provider.sync-page',
    'scim-provider.sync-cleanup',
    'scim-provider.reconcile-scope',
  ],
} as const satisfies Record<string, readonly JobName[]>;

export type ProcessorQueue = keyof typeof JOB_QUEUES;
export type JobNameOf<Q extends ProcessorQueue> = (typeof JOB_QUEUES)[Q][number];

/** A job as its processor sees it: a discriminated union over the queue's job names. */
export type QueuedJob<Q extends ProcessorQueue> = {
  [N in JobNameOf<Q>]: {
    name: N;
    payload: JobPayloads[N];
    /** graphile-worker's job id (for logs). */
    id: string;
    /** Attempts so far, including this one (graphile-worker's own retry counter). */
    attempts: number;
    maxAttempts: number;
    /** Aborted when the runner is stopping: long jobs should stop at a safe point and rethrow. */
    signal: AbortSignal;
  };
}[JobNameOf<Q>];

export type JobProcessor<Q extends ProcessorQueue> = (job: QueuedJob<Q>) => Promise<void>;

export function isJobName(name: string): name is JobName {
  return Object.values(JOB_QUEUES).some((names) => (names as readonly string[]).includes(name));
}

export function queueOf(name: JobName): ProcessorQueue {
  for (const [queue, names] of Object.entries(JOB_QUEUES)) {
    if ((names as readonly string[]).includes(name)) return queue as ProcessorQueue;
  }
  throw new Error(`Job ${name} belongs to no processor queue`);
}

/** For exhaustive switches over job names. */
export function unknownJob(name: never): never {
  throw new Error(`No handler for job ${String(name)}`);
}
