import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { waitFor } from './app.js';

export const NGINX = '/usr/sbin/nginx';

export interface TestFrontDoor {
  /** Base URL of the stand-in, e.g. `http://127.0.0.1:41234`. */
  url: string;
  close(): Promise<void>;
}

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });

const accepts = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });

/**
 * nginx configured like the Front Door route in front of the service: it adds `X-Azure-FDID` and
 * `X-Azure-ClientIP`, caches GET/HEAD responses only as long as the origin's Cache-Control allows
 * (no `proxy_cache_valid`, so a response without one is not kept — unlike Front Door, which keeps
 * those for days; like Front Door it takes `s-maxage` over `max-age` and keeps nothing `private` or
 * `no-store`), keys the cache by host and full URL with its query string (Front Door's "use query
 * string" caching; the Authorization header is not part of the key) and reports `X-Cache-Status`
 * (HIT, MISS, EXPIRED; none for a POST, whose cache is never looked up).
 */
const configuration = (dir: string, port: number, origin: URL, frontDoorId: string): string => `
# Run as root (CI), workers would drop to nobody and could not write the private temp directory.
${process.getuid?.() === 0 ? 'user root;' : ''}
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 256; }
http {
  access_log off;
  # Front Door forwards bodies far larger than nginx's 1 MB default; the service sets its own limit.
  client_max_body_size 16m;
  client_body_temp_path ${dir}/client-body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  proxy_cache_path ${dir}/cache levels=1:2 keys_zone=frontdoor:1m max_size=64m inactive=10m use_temp_path=off;
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://${origin.host};
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header X-Azure-FDID ${frontDoorId};
      proxy_set_header X-Azure-ClientIP $remote_addr;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_cache frontdoor;
      proxy_cache_key $host$request_uri;
      add_header X-Cache-Status $upstream_cache_status always;
    }
  }
}
`;

/** A running nginx: its port, its error log, and how to stop it (and remove its directory). */
export interface RunningNginx {
  port: number;
  errorLog: () => Promise<string>;
  close: () => Promise<void>;
}

/**
 * Runs nginx in the foreground with the configuration `configure(dir, port)` writes for a private
 * directory and a free port; resolves once it accepts connections.
 */
export const runNginx = async (
  prefix: string,
  configure: (dir: string, port: number) => string,
): Promise<RunningNginx> => {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  const port = await freePort();
  const conf = join(dir, 'nginx.conf');
  await writeFile(conf, configure(dir, port));
  const child: ChildProcess = spawn(
    NGINX,
    ['-p', dir, '-e', join(dir, 'error.log'), '-c', conf, '-g', 'daemon off;'],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const close = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`nginx exited with ${child.exitCode}: ${stderr}`);
        return accepts(port);
      },
      10_000,
      'nginx to listen',
    );
  } catch (error) {
    await close();
    throw error;
  }
  return { port, errorLog: () => readFile(join(dir, 'error.log'), 'utf8').catch(() => ''), close };
};

/** Starts nginx as a Front Door stand-in in front of `origin` (the service's base URL); close it in `afterAll`. */
export const startTestFrontDoor = async (origin: string, frontDoorId: string): Promise<TestFrontDoor> => {
  const nginx = await runNginx('flick-nginx-', (dir, port) =>
    configuration(dir, port, new URL(origin), frontDoorId),
  );
  return { url: `http://127.0.0.1:${nginx.port}`, close: nginx.close };
};
