import { Args, Int, Query, ResolveField, Resolver } from '@nestjs/graphql';
import { GraphQLError } from 'graphql';

import { Roles } from '../modules/auth/roles.decorator.js';
import { DegradationEpisode, ServiceStatus } from './models/service-status.model.js';
import { ServiceStatusService } from './service-status.service.js';

/** The limits of `episodes(first)`, stated once for the check and the schema description. */
export const EPISODES_FIRST = { default: 50, min: 1, max: 1000 } as const;

@Resolver(() => ServiceStatus)
export class ServiceStatusResolver {
  constructor(private readonly status: ServiceStatusService) {}

  @Roles('ops')
  @Query(() => ServiceStatus, {
    description:
      'Circuit breakers and gold freshness as the answering replica sees them, and the degradation timeline of every replica.',
  })
  serviceStatus(): ServiceStatus {
    return { breakers: this.status.breakers(), datasets: this.status.datasets() };
  }

  @ResolveField('episodes', () => [DegradationEpisode], {
    description:
      'Degradation episodes of every replica, newest start first (the log keeps DEGRADATION_TIMELINE_MAX_EPISODES).',
  })
  episodes(
    @Args('first', {
      type: () => Int,
      nullable: true,
      defaultValue: EPISODES_FIRST.default,
      description: `Episodes to list, ${EPISODES_FIRST.min} to ${EPISODES_FIRST.max} (null: ${EPISODES_FIRST.default}).`,
    })
    requested: number | null,
  ): Promise<DegradationEpisode[]> {
    const first = requested ?? EPISODES_FIRST.default;
    if (!Number.isInteger(first) || first < EPISODES_FIRST.min || first > EPISODES_FIRST.max) {
      throw new GraphQLError(
        `Argument "first" must be an integer from ${EPISODES_FIRST.min} to ${EPISODES_FIRST.max} (got ${first}).`,
        { extensions: { code: 'BAD_USER_INPUT', argument: 'first' } },
      );
    }
    return this.status.episodes(first);
  }
}
