import { startEmbeddedAzurite, type EmbeddedAzurite } from '../../src/dev/embedded-azurite.js';

/**
 * Azurite (blob service, in memory) as a child process on a free port, for tests. Every call
 * starts its own server (about a second), so test files never share blobs.
 */
export interface TestAzurite {
  connectionString: string;
  /** `http://127.0.0.1:<port>/devstoreaccount1` */
  blobEndpoint: string;
  port: number;
  /** Pid of the server process. */
  pid: number;
  /** SIGTERM, and waits until the process has exited; harmless when it already has. */
  stop(): Promise<void>;
  /** SIGKILL, and waits until the process has exited: connections are refused from then on. */
  kill(): Promise<void>;
}

export const startTestAzurite = async (): Promise<TestAzurite> => {
  const azurite: EmbeddedAzurite = await startEmbeddedAzurite();
  const { child } = azurite;
  return {
    connectionString: azurite.connectionString,
    blobEndpoint: azurite.blobEndpoint,
    port: azurite.port,
    pid: child.pid ?? -1,
    stop: () => azurite.stop(),
    kill: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGKILL');
      await gone;
    },
  };
};
