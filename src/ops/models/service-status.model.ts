import { Field, GraphQLISODateTime, Int, ObjectType, registerEnumType } from '@nestjs/graphql';

import { DatasetFreshness } from '../../gold/freshness.js';
// Registers the DatasetFreshness enum with the schema (once, where the gold models declare it).
import '../../gold/models/gold-dataset.model.js';

/** The states of a circuit breaker, as the resilience module names them. */
export enum BreakerStateValue {
  CLOSED = 'CLOSED',
  OPEN = 'OPEN',
  HALF_OPEN = 'HALF_OPEN',
  ISOLATED = 'ISOLATED',
}
registerEnumType(BreakerStateValue, {
  name: 'BreakerState',
  description:
    'CLOSED: calls go through. OPEN: calls fail at once (BREAKER_OPEN) after consecutive failures. HALF_OPEN: one probe call decides. ISOLATED: held open on purpose.',
});

@ObjectType({ description: "The circuit breaker of one of this replica's dependencies." })
export class DependencyBreaker {
  @Field({ description: '`cosmos` or `redis`.' })
  dependency!: string;

  @Field(() => BreakerStateValue)
  state!: BreakerStateValue;

  @Field(() => GraphQLISODateTime, {
    description: 'When the breaker entered this state (since start-up when never changed).',
  })
  since!: Date;
}

@ObjectType({ description: 'A gold dataset as this replica serves it: its active snapshot and freshness.' })
export class ServedDataset {
  @Field()
  name!: string;

  @Field(() => String, { nullable: true, description: 'Null when this replica knows no active snapshot.' })
  activeSnapshotId!: string | null;

  @Field(() => Int, { nullable: true, description: 'Seconds since the active snapshot was completed.' })
  ageSeconds!: number | null;

  @Field(() => Int, { description: 'Freshness objective (GOLD_FRESHNESS_OBJECTIVES): older is STALE.' })
  objectiveSeconds!: number;

  @Field(() => Int, { description: 'Hard limit (GOLD_HARD_LIMITS): older is EXPIRED and no longer served.' })
  hardLimitSeconds!: number;

  @Field(() => DatasetFreshness)
  status!: DatasetFreshness;
}

@ObjectType({
  description:
    'A period during which one replica served device responses degraded for one reason, or had a circuit breaker open.',
})
export class DegradationEpisode {
  @Field({
    description:
      'A degraded reason of the responses (PIPELINE_LAG, STORE_UNAVAILABLE, STORE_THROTTLED, CACHE_UNAVAILABLE, TIMEOUT, NO_PROFILE_DATA), or BREAKER_OPEN.',
  })
  reason!: string;

  @Field({
    description:
      'What the episode is about: cosmos (TIMEOUT, STORE_*), redis (CACHE_UNAVAILABLE), gold:profiles (NO_PROFILE_DATA), gold:<datasets> past their objective (PIPELINE_LAG); a breaker names its dependency.',
  })
  dependency!: string;

  @Field({ description: 'The replica (host name and a per-process suffix) that served the responses.' })
  replica!: string;

  @Field(() => GraphQLISODateTime, { description: 'The first degraded response (the breaker opening).' })
  startedAt!: Date;

  @Field(() => GraphQLISODateTime, {
    nullable: true,
    description:
      'The last degraded response (the breaker closing); null while open. An episode ends once DEGRADATION_EPISODE_QUIET_MS pass without another degraded response for its reason.',
  })
  endedAt!: Date | null;

  @Field(() => Int, {
    description:
      'Degraded responses in the episode (a breaker: those degraded by its dependency while it was open).',
  })
  responses!: number;
}

@ObjectType({
  description: 'How the service is doing, for operators: breakers, gold freshness, degradation timeline.',
})
export class ServiceStatus {
  @Field(() => [DependencyBreaker], { description: "This replica's circuit breakers." })
  breakers!: DependencyBreaker[];

  @Field(() => [ServedDataset], {
    description: 'Every gold dataset, as this replica serves it (no Cosmos call).',
  })
  datasets!: ServedDataset[];
}
