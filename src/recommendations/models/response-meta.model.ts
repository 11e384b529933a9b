import { Field, Int, ObjectType, registerEnumType } from '@nestjs/graphql';

export enum ContentSource {
  PERSONALIZED = 'PERSONALIZED',
  PERSONALIZED_STALE = 'PERSONALIZED_STALE',
  CACHED_COPY = 'CACHED_COPY',
  POPULAR = 'POPULAR',
  EMERGENCY = 'EMERGENCY',
}
registerEnumType(ContentSource, {
  name: 'ContentSource',
  description: 'Which step of the fallback chain served the response, most personal first.',
  valuesMap: {
    PERSONALIZED: {
      description: "The profile's gold from the active snapshot, within its freshness objective.",
    },
    PERSONALIZED_STALE: {
      description: "The profile's gold, past its freshness objective (the pipeline is late).",
    },
    CACHED_COPY: {
      description: "The last good copy of the profile's gold, because Cosmos DB failed or was slow.",
    },
    POPULAR: { description: 'Popular titles for the viewer’s country and device, not personal.' },
    EMERGENCY: {
      description: 'A popular list held in memory, because neither Cosmos DB nor Redis answered.',
    },
  },
});

export enum DegradedReason {
  PIPELINE_LAG = 'PIPELINE_LAG',
  STORE_UNAVAILABLE = 'STORE_UNAVAILABLE',
  STORE_THROTTLED = 'STORE_THROTTLED',
  CACHE_UNAVAILABLE = 'CACHE_UNAVAILABLE',
  TIMEOUT = 'TIMEOUT',
  NO_PROFILE_DATA = 'NO_PROFILE_DATA',
}
registerEnumType(DegradedReason, { name: 'DegradedReason' });

@ObjectType({
  description: 'How a device response was served, so apps and operators can tell degraded answers.',
})
export class ResponseMeta {
  @Field(() => ContentSource)
  source!: ContentSource;

  @Field({ description: 'True unless the response is personal and fresh.' })
  degraded!: boolean;

  @Field(() => [DegradedReason])
  reasons!: DegradedReason[];

  @Field(() => String, { nullable: true, description: 'The gold snapshot the personal data came from.' })
  snapshotId!: string | null;

  @Field(() => Int, { nullable: true, description: 'Age of that data in seconds.' })
  dataAgeSeconds!: number | null;
}
