import { Field, GraphQLISODateTime, Int, ObjectType, registerEnumType } from '@nestjs/graphql';

import { DatasetFreshness } from '../freshness.js';

registerEnumType(DatasetFreshness, {
  name: 'DatasetFreshness',
  description:
    'FRESH within its objective, STALE past it, EXPIRED past the hard limit, MISSING never published.',
});

@ObjectType({ description: 'A snapshot of a gold dataset known to its manifest.' })
export class GoldSnapshot {
  @Field()
  snapshotId!: string;

  @Field({
    description:
      'WRITING while a publish is loading it, COMPLETE once every document is in, PRUNING once a prune has started deleting it (never readable again; the snapshot is removed when its documents are gone).',
  })
  state!: string;

  @Field(() => GraphQLISODateTime)
  startedAt!: Date;

  @Field(() => GraphQLISODateTime, { nullable: true })
  completedAt!: Date | null;

  @Field(() => Int)
  documentCount!: number;
}

@ObjectType({ description: 'One gold dataset as its manifest describes it.' })
export class GoldDataset {
  @Field()
  name!: string;

  @Field(() => String, { nullable: true })
  activeSnapshotId!: string | null;

  @Field(() => String, { nullable: true })
  previousSnapshotId!: string | null;

  @Field(() => GraphQLISODateTime, { nullable: true, description: 'When the active snapshot was completed.' })
  completedAt!: Date | null;

  @Field(() => Int, { nullable: true, description: 'Seconds since the active snapshot was completed.' })
  ageSeconds!: number | null;

  @Field(() => Int)
  freshnessObjectiveSeconds!: number;

  @Field(() => Int)
  hardLimitSeconds!: number;

  @Field(() => DatasetFreshness)
  status!: DatasetFreshness;

  @Field(() => Int, { nullable: true, description: 'Documents in the active snapshot.' })
  documentCount!: number | null;

  @Field(() => String, { nullable: true })
  modelVersion!: string | null;

  @Field(() => [GoldSnapshot], { description: 'Every snapshot still in the store, oldest first.' })
  snapshots!: GoldSnapshot[];
}
