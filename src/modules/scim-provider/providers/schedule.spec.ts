import { describe, expect, it } from 'vitest';
import { nextRunAt, scheduleProblem } from './schedule.js';

describe('schedule', () => {
  const from = new Date('2026-03-01T10:07:00Z');
  it('computes the next cron time in the given time zone', () => {
    expect(nextRunAt({ cron: '0 */4 * * *' }, from)?.toISOString()).toBe('2026-03-01T12:00:00.000Z');
    expect(nextRunAt({ cron: '0 12 * * *', timezone: 'Europe/Berlin' }, from)?.toISOString()).toBe(
      '2026-03-01T11:00:00.000Z',
    );
  });
  it('adds an interval', () => {
    expect(nextRunAt({ intervalMinutes: 30 }, from)?.toISOString()).toBe('2026-03-01T10:37:00.000Z');
  });
  it('has no next time when paused or absent', () => {
    expect(nextRunAt({ intervalMinutes: 30, paused: true }, from)).toBeNull();
    expect(nextRunAt(null, from)).toBeNull();
  });
  it('explains invalid schedules', () => {
    expect(scheduleProblem({ cron: 'not a cron' })).toMatch(/invalid cron/);
    expect(scheduleProblem({ cron: '* * * * *', intervalMinutes: 5 })).toMatch(/not both/);
    expect(scheduleProblem({})).toMatch(/give cron or intervalMinutes/);
    expect(scheduleProblem({ cron: '*/5 * * * *' })).toBeNull();
  });
});
