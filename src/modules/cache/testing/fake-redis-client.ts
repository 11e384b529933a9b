import { EventEmitter } from 'node:events';

import type { RedisClient } from '../redis-client.factory.js';

/** How the fake answers: normally, with an error (Redis down), or never (Redis hung). */
export type FakeRedisMode = 'up' | 'down' | 'hung';

/**
 * Strict fake of the few ioredis commands the two-level cache sends (GET, SET … EX), over a Map,
 * plus the progress store's HGETALL and EVALSHA for the down and hung modes only (scripts run
 * against real Redis in test/cache). Any other command is missing.
 */
export class FakeRedisClient extends EventEmitter {
  status = 'ready';
  mode: FakeRedisMode = 'up';
  readonly data = new Map<string, string>();
  /** Every command received, as `GET key` / `SET key`. */
  readonly commands: string[] = [];

  get(key: string): Promise<string | null> {
    return this.answer(`GET ${key}`, () => this.data.get(key) ?? null);
  }

  set(key: string, value: string, expiry: 'EX', seconds: number): Promise<'OK'> {
    return this.answer(`SET ${key}`, () => {
      if (expiry !== 'EX' || !(seconds > 0)) throw new Error(`unexpected expiry ${expiry} ${seconds}`);
      this.data.set(key, value);
      return 'OK';
    });
  }

  hgetall(key: string): Promise<Record<string, string>> {
    return this.answer(`HGETALL ${key}`, () => {
      throw new Error('the fake keeps no hashes');
    });
  }

  evalsha(sha: string): Promise<unknown> {
    return this.answer(`EVALSHA ${sha}`, () => {
      throw new Error('the fake runs no scripts');
    });
  }

  quit(): Promise<'OK'> {
    this.status = 'end';
    return Promise.resolve('OK');
  }

  disconnect(): void {
    this.status = 'end';
  }

  asClient(): RedisClient {
    return this as unknown as RedisClient;
  }

  private answer<T>(command: string, reply: () => T): Promise<T> {
    this.commands.push(command);
    switch (this.mode) {
      case 'up':
        return Promise.resolve().then(reply);
      case 'down':
        return Promise.reject(new Error("Stream isn't writeable and enableOfflineQueue options is false"));
      case 'hung':
        return new Promise<T>(() => undefined);
    }
  }
}
