import { Field, GraphQLISODateTime, ID, Int, ObjectType, registerEnumType } from '@nestjs/graphql';

import { Title } from '../../catalog/models/title.model.js';
import { ResponseMeta } from './response-meta.model.js';

export enum RowKind {
  CONTINUE_WATCHING = 'CONTINUE_WATCHING',
  TOP_PICKS = 'TOP_PICKS',
  BECAUSE_YOU_WATCHED = 'BECAUSE_YOU_WATCHED',
  TRENDING = 'TRENDING',
  NEW_RELEASES = 'NEW_RELEASES',
  GENRE = 'GENRE',
}
registerEnumType(RowKind, { name: 'RowKind' });

export enum DeviceClassEnum {
  TV = 'TV',
  MOBILE = 'MOBILE',
  WEB = 'WEB',
  TABLET = 'TABLET',
}
registerEnumType(DeviceClassEnum, { name: 'DeviceClass' });

@ObjectType({ description: 'Where a profile stopped watching a title.' })
export class ContinueWatchingItem {
  @Field(() => Title)
  title!: Title;

  @Field(() => Int)
  positionSeconds!: number;

  @Field(() => Int)
  durationSeconds!: number;

  @Field(() => GraphQLISODateTime)
  updatedAt!: Date;
}

@ObjectType({ description: 'One row of the home page.' })
export class Row {
  @Field(() => ID)
  id!: string;

  @Field(() => RowKind)
  kind!: RowKind;

  @Field()
  heading!: string;

  @Field(() => Title, {
    nullable: true,
    description: 'The watched title a BECAUSE_YOU_WATCHED row is based on.',
  })
  because!: Title | null;

  @Field(() => [Title])
  titles!: Title[];

  @Field(() => [ContinueWatchingItem], {
    nullable: true,
    description: 'Playback positions, in the order of `titles` (CONTINUE_WATCHING rows only).',
  })
  continueWatching!: ContinueWatchingItem[] | null;
}

@ObjectType({ description: "A profile's home page: ordered rows and how they were served." })
export class HomePage {
  @Field(() => ID)
  profileId!: string;

  @Field(() => [Row])
  rows!: Row[];

  @Field(() => ResponseMeta)
  meta!: ResponseMeta;
}

@ObjectType({ description: 'Popular titles for the viewer’s country and device.' })
export class PopularList {
  @Field()
  country!: string;

  @Field(() => DeviceClassEnum)
  device!: DeviceClassEnum;

  @Field(() => [Title])
  titles!: Title[];

  @Field(() => ResponseMeta)
  meta!: ResponseMeta;
}
