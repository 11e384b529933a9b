import { runNginx } from '../support/nginx.js';

/** The response header that names the replica (or replicas, when retried) a request went to. */
export const UPSTREAM_HEADER = 'x-upstream';

export interface RoundRobinProxy {
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** nginx's error log so far: one line per failed attempt on a replica. */
  errorLog(): Promise<string>;
  close(): Promise<void>;
}

/**
 * nginx balancing round robin over the replicas, with what a load balancer in front of them needs:
 * keep-alive connections to the replicas (as Front Door keeps them), passive health (a replica
 * that fails a request is left out for a moment), and retries on the next replica.
 *
 * Retries include POSTs (`non_idempotent`). nginx does not retry a POST once it has written it to
 * a replica, and that is where a connection fails when the replica resets it as its listener
 * closes (nginx, unlike the platform, does not watch readiness, so it still sends requests to a
 * draining replica) or when the replica is killed mid-request: without it those requests come
 * back 502. Every GraphQL POST of this API is safe to send twice: queries read,
 * `recordPlaybackProgress` sets a position (the same one again), and `requestPartnerExport`
 * answers a repeated request with the same export. A mutation that added or counted would rule
 * this out.
 */
const configuration = (dir: string, port: number, replicas: readonly number[]): string => `
# Run as root (CI), workers would drop to nobody and could not write the private temp directory.
${process.getuid?.() === 0 ? 'user root;' : ''}
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${dir}/client-body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  upstream flick {
${replicas.map((replica) => `    server 127.0.0.1:${replica} max_fails=1 fail_timeout=2s;`).join('\n')}
    keepalive 16;
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://flick;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_connect_timeout 2s;
      proxy_next_upstream error timeout http_502 http_503 non_idempotent;
      add_header X-Upstream $upstream_addr always;
    }
  }
}
`;

/** Starts nginx in front of the replicas listening on `replicas` (ports); close it in `afterAll`. */
export const startRoundRobinProxy = async (replicas: readonly number[]): Promise<RoundRobinProxy> => {
  const nginx = await runNginx('flick-scale-out-nginx-', (dir, port) => configuration(dir, port, replicas));
  return { url: `http://127.0.0.1:${nginx.port}`, errorLog: nginx.errorLog, close: nginx.close };
};
