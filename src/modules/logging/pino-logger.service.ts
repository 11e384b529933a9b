import type { LoggerService } from '@nestjs/common';
import type { Level } from 'pino';

import type { PinoLogger } from './pino-logger.js';

const stackTrace = /^.+\n\s+at .+/;

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' &&
  value !== null &&
  (Object.getPrototypeOf(value) === Object.prototype || Object.getPrototypeOf(value) === null);

/**
 * Nest's logger API (`new Logger('Context').warn(...)`, Nest's own messages) written by pino, one
 * JSON line per call: the context in `context`, an error's stack in `stack`. A plain object as
 * the message becomes fields of the line (its `msg` or `message` the message), so that
 * `logger.log({ msg: 'served', profileId })` gets `profileId` redacted like any field.
 */
export class PinoLoggerService implements LoggerService {
  constructor(private readonly pino: PinoLogger) {}

  log(message: unknown, ...params: unknown[]): void {
    this.write('info', message, params);
  }

  error(message: unknown, ...params: unknown[]): void {
    this.write('error', message, params);
  }

  warn(message: unknown, ...params: unknown[]): void {
    this.write('warn', message, params);
  }

  debug(message: unknown, ...params: unknown[]): void {
    this.write('debug', message, params);
  }

  verbose(message: unknown, ...params: unknown[]): void {
    this.write('trace', message, params);
  }

  fatal(message: unknown, ...params: unknown[]): void {
    this.write('fatal', message, params);
  }

  private write(level: Level, message: unknown, params: unknown[]): void {
    if (!this.pino.isLevelEnabled(level)) return;
    // Nest's Logger appends its context as the last argument (after `undefined` for a stack-less error).
    const context =
      params.length > 0 && typeof params.at(-1) === 'string' ? (params.pop() as string) : undefined;
    const fields: Record<string, unknown> = {};
    let msg: string | undefined;
    if (message instanceof Error) {
      fields['err'] = message;
      msg = message.message;
    } else if (isPlainObject(message)) {
      const { msg: text, message: alternative, ...rest } = message;
      Object.assign(fields, rest);
      msg = typeof text === 'string' ? text : typeof alternative === 'string' ? alternative : undefined;
    } else {
      msg = String(message);
    }
    const extra: unknown[] = [];
    for (const param of params) {
      if (param === undefined) continue;
      if (typeof param === 'string' && stackTrace.test(param) && fields['stack'] === undefined) {
        fields['stack'] = param;
      } else if (param instanceof Error && fields['err'] === undefined) fields['err'] = param;
      else extra.push(param);
    }
    if (extra.length > 0) fields['params'] = extra;
    if (context !== undefined) fields['context'] = context;
    this.pino[level](fields, msg);
  }
}
