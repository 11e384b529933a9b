import { Field, ID, InputType, Int } from '@nestjs/graphql';

@InputType({ description: 'Where a profile is in a title, reported by the player.' })
export class PlaybackProgressInput {
  @Field(() => ID)
  profileId!: string;

  @Field(() => ID)
  titleId!: string;

  @Field(() => Int)
  positionSeconds!: number;

  @Field(() => Int)
  durationSeconds!: number;
}
