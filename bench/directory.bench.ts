import 'reflect-metadata';
import pino from 'pino';
import { ChangeRecorder } from '../src/modules/directory/changes/change-recorder.js';
import { OutboxSignal } from '../src/modules/directory/changes/outbox-signal.js';
import { UsersService } from '../src/modules/directory/users/users.service.js';
import { benchDatabase, fmt, machine, percentile, runConcurrently } from './support.js';

/**
 * bench:directory — creates 100,000 users through the directory service (each atomically with its
 * outbox event, then the workers' signal as in production), then times case-insensitive userName
 * lookups at that size.
 */
const USERS = Number(process.env.BENCH_USERS ?? 100_000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);
const LOOKUPS = 5_000;

const db = await benchDatabase(CONCURRENCY + 2);
const signal = new OutboxSignal(db.dataSource, pino({ level: 'silent' }));
signal.onModuleInit();
const users = new UsersService(db.dataSource, new ChangeRecorder(signal));
const origin = { type: 'admin' as const, id: 'bench' };

console.log(`bench:directory — ${fmt(USERS)} users, concurrency ${CONCURRENCY}, ${machine()}`);
const started = process.hrtime.bigint();
await runConcurrently(USERS, CONCURRENCY, async (i) => {
  await users.create(
    {
      userName: `User.${i}@Example.com`,
      externalId: `ext-${i}`,
      displayName: `User ${i}`,
      attributes: {
        name: { givenName: 'User', familyName: String(i) },
        emails: [{ value: `user.${i}@example.com`, type: 'work', primary: true }],
        'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User': {
          employeeNumber: String(i),
          department: `D${i % 50}`,
        },
      },
    },
    origin,
  );
});
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
const events = Number((await db.dataSource.query('SELECT count(*) AS n FROM change_events'))[0].n);
console.log(`create: ${fmt(USERS / seconds)} users/s (${fmt(seconds, 1)} s; ${fmt(events)} outbox events)`);

await db.dataSource.query('ANALYZE users');
const timings: number[] = [];
for (let k = 0; k < LOOKUPS; k++) {
  const i = Math.floor(Math.random() * USERS);
  const name = k % 2 ? `user.${i}@example.COM` : `USER.${i}@EXAMPLE.com`;
  const t0 = process.hrtime.bigint();
  const found = await users.findByUserName(name);
  timings.push(Number(process.hrtime.bigint() - t0) / 1e6);
  if (!found) throw new Error(`lookup of ${name} found nothing`);
}
timings.sort((a, b) => a - b);
console.log(
  `userName lookup (case-insensitive) at ${fmt(USERS)} users: p50 ${fmt(percentile(timings, 50), 2)} ms, p99 ${fmt(percentile(timings, 99), 2)} ms`,
);
await db.close();
