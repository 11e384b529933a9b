import { Field, Int, ObjectType } from '@nestjs/graphql';

import { PageInfo } from './page-info.model.js';
import { Title } from './title.model.js';

@ObjectType()
export class TitleEdge {
  @Field()
  cursor!: string;

  @Field(() => Title)
  node!: Title;
}

@ObjectType({ description: 'A page of titles in browse order: newest first, then by id.' })
export class TitleConnection {
  @Field(() => [TitleEdge])
  edges!: TitleEdge[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;

  @Field(() => Int, { nullable: true, description: 'Titles matching the filters across all pages.' })
  totalCount!: number | null;
}
