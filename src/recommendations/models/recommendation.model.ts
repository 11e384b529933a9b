import { Field, Float, ObjectType } from '@nestjs/graphql';

import { PageInfo } from '../../catalog/models/page-info.model.js';
import { Title } from '../../catalog/models/title.model.js';
import { ResponseMeta } from './response-meta.model.js';

@ObjectType({ description: 'A recommended title and why.' })
export class Recommendation {
  @Field(() => Title)
  title!: Title;

  @Field(() => Float, { nullable: true })
  score!: number | null;

  @Field(() => String, {
    nullable: true,
    description: 'Why it is recommended, e.g. "Because you watched Dark".',
  })
  reason!: string | null;
}

@ObjectType()
export class RecommendationEdge {
  @Field()
  cursor!: string;

  @Field(() => Recommendation)
  node!: Recommendation;
}

@ObjectType({ description: "A profile's ranked recommendations." })
export class RecommendationConnection {
  @Field(() => [RecommendationEdge])
  edges!: RecommendationEdge[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;

  @Field(() => ResponseMeta)
  meta!: ResponseMeta;
}
