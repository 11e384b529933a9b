import { Controller, Get, Header, HttpCode, HttpStatus, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';

import { HealthService, type Readiness } from './health.service.js';

/**
 * Probes for Front Door and the container platform. GET and HEAD both answer (Fastify exposes a
 * HEAD route for every GET). Never cached: a cached "ready" would hide an instance that is not.
 */
@Controller('health')
export class HealthController {
  constructor(private readonly health: HealthService) {}

  /** The process is up and serving HTTP. */
  @Get('live')
  @HttpCode(HttpStatus.OK)
  @Header('cache-control', 'no-store')
  live(): { status: 'up' } {
    return { status: 'up' };
  }

  /**
   * The instance can serve: the catalogue is in memory and Cosmos answered recently, and it is not
   * shutting down (503 with `draining: true` from the first SIGTERM on, while liveness stays 200).
   */
  @Get('ready')
  @Header('cache-control', 'no-store')
  ready(@Res({ passthrough: true }) reply: FastifyReply): Readiness {
    const readiness = this.health.readiness();
    if (!readiness.ready) void reply.status(HttpStatus.SERVICE_UNAVAILABLE);
    return readiness;
  }
}
