import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { pipeline } from 'node:stream/promises';
import { constants, createGzip, type Gzip, type ZlibOptions } from 'node:zlib';

/** Fixed gzip settings: with the same input, the output is byte-identical (node writes no name and mtime 0). */
export const GZIP_OPTIONS = {
  level: 5,
  memLevel: 8,
  windowBits: 15,
  strategy: constants.Z_DEFAULT_STRATEGY,
  chunkSize: 64 * 1024,
} as const;

const FLUSH_AT = 256 * 1024;

/** Streams records as gzipped JSON Lines, honouring back-pressure; memory stays at a few buffers. */
export class JsonlGzipWriter {
  private readonly gzip: Gzip;
  private readonly done: Promise<void>;
  private pending: string[] = [];
  private pendingLength = 0;
  private failure: Error | undefined = undefined;
  private count = 0;

  constructor(readonly path: string) {
    // A deep write buffer lets record generation run ahead while zlib compresses on the thread pool.
    // (Stream options are passed on by zlib but missing from ZlibOptions.)
    const options: ZlibOptions & { writableHighWaterMark: number } = {
      ...GZIP_OPTIONS,
      writableHighWaterMark: 8 * 1024 * 1024,
    };
    this.gzip = createGzip(options);
    this.done = pipeline(this.gzip, createWriteStream(path));
    this.done.catch((error: unknown) => {
      this.failure = error instanceof Error ? error : new Error(`writing ${path} failed: ${String(error)}`);
    });
  }

  get records(): number {
    return this.count;
  }

  /** Adds one record (one line). Resolves immediately unless the buffer had to be flushed into a full stream. */
  async write(record: unknown): Promise<void> {
    const line = `${JSON.stringify(record)}\n`;
    this.pending.push(line);
    this.pendingLength += line.length;
    this.count++;
    if (this.pendingLength >= FLUSH_AT) await this.flush();
  }

  private async flush(): Promise<void> {
    this.throwIfFailed();
    if (this.pending.length === 0) return;
    const chunk = this.pending.join('');
    this.pending = [];
    this.pendingLength = 0;
    if (!this.gzip.write(chunk)) {
      await Promise.race([once(this.gzip, 'drain'), this.done]);
      this.throwIfFailed();
    } else {
      // zlib compresses on the thread pool but needs the event loop to hand over the next chunk:
      // yield once per chunk so compression overlaps with producing the next records.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  private throwIfFailed(): void {
    if (this.failure !== undefined) throw this.failure;
  }

  /** Flushes, ends the stream and waits until the file is completely written. */
  async close(): Promise<void> {
    await this.flush();
    this.gzip.end();
    await this.done;
  }

  /** Stops writing after an error elsewhere and waits until the file is closed (the caller removes it). */
  async abort(): Promise<void> {
    this.gzip.destroy();
    await this.done.catch(() => undefined);
  }
}
