import { pino, type DestinationStream, type Logger as PinoLogger } from 'pino';

import type { AppConfig } from '../config/app-config.js';
import { REDACTED, scrubJsonLine } from './scrub-secrets.js';
import { activeTraceFields, type TraceFields } from './trace-context.js';
import { pathOf } from './url-path.js';

export type { PinoLogger };

/**
 * Fields whose value never reaches a log line, wherever they sit in a logged object (down to three
 * levels: `headers.authorization`, `req.headers.cookie`): credentials, and personal data.
 */
const sensitiveFields = [
  'authorization',
  'cookie',
  'set-cookie',
  'token',
  'accessToken',
  'access_token',
  'refreshToken',
  'refresh_token',
  'idToken',
  'id_token',
  'password',
  'key',
  'secret',
  'clientSecret',
  'client_secret',
  'connectionString',
  'profileId',
  'profileIds',
  'profile_id',
  'profile_ids',
  'accountId',
  'account_id',
  'email',
] as const;

const segment = (field: string): string => (/^[A-Za-z_$][\w$]*$/.test(field) ? `.${field}` : `["${field}"]`);

/** `token`, `*.token`, `*.*.token` for each field (bracketed when the name is not an identifier). */
export const redactedPaths: readonly string[] = sensitiveFields.flatMap((field) => {
  const last = segment(field);
  return [last.startsWith('.') ? last.slice(1) : last, `*${last}`, `*.*${last}`];
});

export interface LoggerOptions {
  level: AppConfig['logLevel'];
  /** Where the JSON lines go; stdout (synchronously, so nothing is lost at exit) by default. */
  destination?: DestinationStream;
  /** The trace ids of the current line; the active OpenTelemetry span by default. */
  traceFields?: () => TraceFields | undefined;
}

/**
 * The service's one pino logger: JSON lines with `time` (ISO 8601), `level` (its name), `msg`, the
 * active span's `trace_id`/`span_id`, sensitive fields redacted, and bearer tokens and JWTs
 * scrubbed from the whole line (messages and stack traces included).
 */
export const createLogger = (options: LoggerOptions): PinoLogger => {
  const traceFields = options.traceFields ?? activeTraceFields;
  return pino(
    {
      level: options.level,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      // A fresh object each time: pino merges the line's own fields into it.
      mixin: () => ({ ...traceFields() }),
      // Fastify logs `req` on its error lines: its method and path only (no query string, no address).
      serializers: {
        req: (request: { method?: string; url?: string }) => ({
          method: request.method,
          path: pathOf(request.url ?? ''),
        }),
      },
      redact: { paths: [...redactedPaths], censor: REDACTED },
      hooks: { streamWrite: scrubJsonLine },
    },
    options.destination ?? pino.destination({ dest: 1, sync: true }),
  );
};
