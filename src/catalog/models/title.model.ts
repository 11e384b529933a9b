import { Field, GraphQLISODateTime, ID, Int, ObjectType, registerEnumType } from '@nestjs/graphql';

export enum TitleKind {
  MOVIE = 'MOVIE',
  SHOW = 'SHOW',
}
registerEnumType(TitleKind, { name: 'TitleKind' });

export enum ArtworkSize {
  SMALL = 'SMALL',
  MEDIUM = 'MEDIUM',
  LARGE = 'LARGE',
}
registerEnumType(ArtworkSize, { name: 'ArtworkSize' });

@ObjectType({ description: 'One artwork image of a title.' })
export class Artwork {
  @Field()
  url!: string;

  @Field(() => Int)
  width!: number;

  @Field(() => Int)
  height!: number;
}

/**
 * A movie or show of the catalogue. Resolvers return `CatalogTitle` objects, whose properties these
 * fields read directly; `cast`, `artwork` and `availableIn` take arguments and are resolved by
 * CatalogResolver.
 */
@ObjectType({ description: 'A movie or show of the catalogue.' })
export class Title {
  @Field(() => ID)
  id!: string;

  @Field(() => TitleKind)
  kind!: TitleKind;

  @Field()
  name!: string;

  @Field(() => String, { nullable: true })
  synopsis!: string | null;

  @Field(() => [String])
  genres!: string[];

  @Field(() => [String])
  directors!: string[];

  @Field(() => [String], { description: 'Countries of production, as named by the catalogue.' })
  originCountries!: string[];

  @Field(() => Int, { nullable: true })
  releaseYear!: number | null;

  @Field(() => String, { nullable: true, description: 'Rating as published, e.g. "PG-13" or "TV-MA".' })
  maturityRating!: string | null;

  @Field(() => Int, { nullable: true, description: 'Movies only.' })
  durationMinutes!: number | null;

  @Field(() => Int, { nullable: true, description: 'Shows only.' })
  seasonCount!: number | null;

  @Field(() => GraphQLISODateTime, { nullable: true, description: 'When the title joined the catalogue.' })
  addedAt!: Date | null;
}
