import { Field, GraphQLISODateTime, ID, Int, ObjectType } from '@nestjs/graphql';

import { PageInfo } from '../../catalog/models/page-info.model.js';

@ObjectType({
  description:
    'A marketing audience computed by the data pipeline, as of one snapshot of the segments gold. Only members who consented to marketing are ever returned.',
})
export class Segment {
  @Field(() => ID)
  id!: string;

  @Field()
  name!: string;

  @Field(() => String, { nullable: true })
  description!: string | null;

  @Field(() => String, { nullable: true, description: 'The rule the pipeline applied, in words.' })
  definition!: string | null;

  @Field(() => Int, { description: 'Every member, with or without marketing consent.' })
  size!: number;

  @Field(() => Int, { description: 'Members with marketing consent: the most `members` can return.' })
  reachableSize!: number;

  @Field(() => GraphQLISODateTime, { description: 'When the pipeline computed the segment.' })
  refreshedAt!: Date;

  @Field({
    description:
      'The segments snapshot this definition is from. Paging `members` stays on the snapshot it began on until it is pruned.',
  })
  snapshotId!: string;
}

@ObjectType({ description: 'A consented member of a segment: identifiers and locale only.' })
export class SegmentMember {
  @Field(() => ID)
  profileId!: string;

  @Field(() => ID)
  accountId!: string;

  @Field({ description: 'ISO 3166-1 alpha-2 country of the profile.' })
  country!: string;

  @Field(() => String, { nullable: true, description: 'BCP 47 language of the profile.' })
  language!: string | null;
}

@ObjectType()
export class SegmentEdge {
  @Field()
  cursor!: string;

  @Field(() => Segment)
  node!: Segment;
}

@ObjectType({ description: 'Segments ordered by id.' })
export class SegmentConnection {
  @Field(() => [SegmentEdge])
  edges!: SegmentEdge[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;
}

@ObjectType()
export class SegmentMemberEdge {
  @Field({ description: 'Resume after this member: pass as `after`.' })
  cursor!: string;

  @Field(() => SegmentMember)
  node!: SegmentMember;
}

@ObjectType({
  description:
    'Consented members of a segment in a stable order. Pages may hold fewer than `first` members; keep paging while `pageInfo.hasNextPage` is true.',
})
export class SegmentMemberConnection {
  @Field(() => [SegmentMemberEdge])
  edges!: SegmentMemberEdge[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;
}
