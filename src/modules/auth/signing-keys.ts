import { Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { createRemoteJWKSet, type JWTVerifyGetKey } from 'jose';

const refreshEveryMs = 10 * 60_000;
const fetchTimeoutMs = 5000;

/**
 * The identity provider's signing keys (JWKS), fetched at start and refreshed in the background.
 * Requests never wait for a refresh and keep using the last good key set while the provider's key
 * endpoint is down (jose's default would block a request every 10 minutes to refetch, and fail it
 * when the endpoint is unreachable). A token naming an unknown key id still triggers a fetch, at
 * most every 30 s (jose), which is how rotated keys are picked up between refreshes.
 */
export class RemoteSigningKeys implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(RemoteSigningKeys.name);
  private readonly keySet;
  private timer: NodeJS.Timeout | undefined;

  constructor(jwksUrl: string) {
    this.keySet = createRemoteJWKSet(new URL(jwksUrl), {
      cacheMaxAge: Number.POSITIVE_INFINITY,
      timeoutDuration: fetchTimeoutMs,
    });
  }

  /** For `jwtVerify`. */
  readonly getKey: JWTVerifyGetKey = (header, token) => this.keySet(header, token);

  onApplicationBootstrap(): void {
    void this.refresh();
    this.timer = setInterval(() => void this.refresh(), refreshEveryMs);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  /** Fetches the key set now; a failure keeps the previous set and is logged, never thrown. */
  async refresh(): Promise<void> {
    try {
      await this.keySet.reload();
    } catch (error) {
      this.logger.warn(
        `could not refresh the token signing keys, keeping the last good set: ${String(error)}`,
      );
    }
  }
}
