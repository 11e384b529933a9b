import { createHash, type Hash } from 'node:crypto';

import type { z } from 'zod';

import { GOLD_SCHEMA_VERSION } from '../contract/common.schema.js';
import { documentId, type GoldDatasetSpec } from '../contract/gold-datasets.js';
import type { RecordItem } from './record-reader.js';

/** A record that will not be published, with where it is and why. */
export interface BadRecord {
  file: string;
  line: number;
  reason: string;
}

/** A record that passed its dataset's schema and is the first with its key. */
export interface ValidRecord {
  file: string;
  line: number;
  record: unknown;
  key: string;
}

export const locationOf = (item: { file: string; line: number }): string => `${item.file}:${item.line}`;

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** A zod issue path as it reads in code: `recommendations[3].score`. */
export const formatIssuePath = (path: readonly PropertyKey[]): string => {
  let text = '';
  for (const segment of path) {
    if (typeof segment === 'number') text += `[${segment}]`;
    else if (typeof segment === 'string' && IDENTIFIER.test(segment))
      text += text === '' ? segment : `.${segment}`;
    else text += `[${JSON.stringify(String(segment))}]`;
  }
  return text;
};

const MISSING = /^Invalid input: expected (.+), received undefined$/;

const formatIssueMessage = (issue: z.core.$ZodIssue): string => {
  const missing = MISSING.exec(issue.message);
  if (missing !== null) return `required (expected ${missing[1]})`;
  return issue.message.replace(/^Invalid (input|option): /, '');
};

/** The issues of a failed parse as one line: `path: message; path: message; and 2 more issues`. */
export const formatZodIssues = (issues: readonly z.core.$ZodIssue[], maxIssues = 3): string => {
  const shown = issues.slice(0, maxIssues).map((issue) => {
    const path = formatIssuePath(issue.path);
    const message = formatIssueMessage(issue);
    return path === '' ? message : `${path}: ${message}`;
  });
  const more = issues.length - shown.length;
  if (more > 0) shown.push(`and ${more} more issue${more === 1 ? '' : 's'}`);
  return shown.join('; ');
};

/**
 * Streams the valid records of `items` and reports every bad one: unparseable lines, records that
 * fail the dataset schema, and records whose key (within its partition) was already seen.
 * `skip` names locations to pass over silently (bad records already reported by an earlier pass).
 */
export async function* validRecords(
  spec: GoldDatasetSpec<unknown>,
  items: AsyncIterable<RecordItem>,
  onBad: (bad: BadRecord) => void,
  skip?: ReadonlySet<string>,
): AsyncGenerator<ValidRecord> {
  // Document ids are unique per partition key value; the snapshot id is not known yet, so a
  // placeholder stands in for it (the catalog's partition key is the id itself).
  // First location of each key, as fileIndex * 2^32 + line: 100k+ keys stay a few MB.
  const seen = new Map<string, number>();
  const files: string[] = [];
  const fileIndex = new Map<string, number>();
  const encode = (file: string, line: number): number => {
    let index = fileIndex.get(file);
    if (index === undefined) {
      index = files.push(file) - 1;
      fileIndex.set(file, index);
    }
    return index * 2 ** 32 + line;
  };
  const decode = (code: number): string => `${files[Math.floor(code / 2 ** 32)] ?? '?'}:${code % 2 ** 32}`;
  for await (const item of items) {
    const location = locationOf(item);
    if (skip?.has(location) === true) continue;
    if (item.parseError !== undefined) {
      onBad({ file: item.file, line: item.line, reason: item.parseError });
      continue;
    }
    const parsed = spec.schema.safeParse(item.value);
    if (!parsed.success) {
      onBad({ file: item.file, line: item.line, reason: formatZodIssues(parsed.error.issues) });
      continue;
    }
    const key = spec.keyOf(parsed.data);
    const partitionKey = spec.partitionKeyOf(parsed.data, documentId('\u0000', key));
    const identity = `${partitionKey}\u0000${key}`;
    const first = seen.get(identity);
    if (first !== undefined) {
      const where =
        spec.partitionKeyPath === '/id' || key === partitionKey || key.startsWith(`${partitionKey}:`)
          ? ''
          : ` in partition ${partitionKey}`;
      onBad({
        file: item.file,
        line: item.line,
        reason: `duplicate key ${key}${where} (first seen at ${decode(first)})`,
      });
      continue;
    }
    seen.set(identity, encode(item.file, item.line));
    yield { file: item.file, line: item.line, record: parsed.data, key };
  }
}

/**
 * The identity of a snapshot's content: sha256 over the dataset, the gold schema version and the
 * valid records in input order. The same input always yields the same snapshot id.
 */
export class SnapshotDigest {
  private readonly hash: Hash;
  private records = 0;

  constructor(dataset: string) {
    this.hash = createHash('sha256').update(`${dataset}\n${GOLD_SCHEMA_VERSION}\n`);
  }

  add(record: unknown): void {
    this.records += 1;
    this.hash.update(`${JSON.stringify(record)}\n`);
  }

  get count(): number {
    return this.records;
  }

  /** Finishes the digest: its hex, and the snapshot id derived from it. */
  finish(): { hex: string; snapshotId: string } {
    const hex = this.hash.digest('hex');
    return { hex, snapshotId: `g${hex.slice(0, 16)}` };
  }
}
