import { Field, ObjectType } from '@nestjs/graphql';

/** Relay page info, shared by every connection of the API. */
@ObjectType({ description: 'Where a page of a connection ends and whether more follows.' })
export class PageInfo {
  @Field()
  hasNextPage!: boolean;

  @Field(() => String, {
    nullable: true,
    description: 'Pass as `after` to get the next page; null when there is nothing to resume from.',
  })
  endCursor!: string | null;
}
