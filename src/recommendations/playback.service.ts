import { Injectable } from '@nestjs/common';

import { CatalogService } from '../catalog/catalog.service.js';
import type { CatalogTitle } from '../catalog/catalog-title.js';
import type { Principal } from '../modules/auth/principal.js';
import {
  PlaybackProgressStore,
  ProgressStoreUnavailableError,
  type ProgressEntry,
} from '../modules/cache/playback-progress.store.js';
import type { PlaybackProgressInput } from './dto/playback-progress.input.js';
import { HomeService } from './home.service.js';
import { badArgument, RecommendationsError, RecommendationsErrorCode } from './recommendations.errors.js';

/** Longest plausible duration of one playable item: an episode or a movie's runtime plus credits. */
const MAX_SHOW_EPISODE_SECONDS = 4 * 3600;
const MOVIE_DURATION_SLACK = 1.5;

const maxDurationSeconds = (title: CatalogTitle): number =>
  title.kind === 'MOVIE' && title.durationMinutes !== null
    ? Math.ceil(title.durationMinutes * 60 * MOVIE_DURATION_SLACK) + 600
    : MAX_SHOW_EPISODE_SECONDS;

export interface RecordedProgress {
  title: CatalogTitle;
  positionSeconds: number;
  durationSeconds: number;
  updatedAt: Date;
}

/** Cross-device continue watching: progress reported by players, merged into the next home page. */
@Injectable()
export class PlaybackService {
  constructor(
    private readonly catalog: CatalogService,
    private readonly progress: PlaybackProgressStore,
    private readonly home: HomeService,
  ) {}

  /** Validates everything before writing anything; bad input changes nothing. */
  async record(principal: Principal, input: PlaybackProgressInput, pin: object): Promise<RecordedProgress> {
    this.home.assertOwnProfile(principal, input.profileId);
    const title = this.catalog.getTitle(input.titleId, pin);
    if (title === null)
      throw badArgument('titleId', `names no title of the catalogue (got "${input.titleId}")`);
    const maxDuration = maxDurationSeconds(title);
    if (input.durationSeconds < 1 || input.durationSeconds > maxDuration) {
      throw badArgument(
        'durationSeconds',
        `must be from 1 to ${maxDuration} for this title (got ${input.durationSeconds})`,
      );
    }
    if (input.positionSeconds < 0 || input.positionSeconds > input.durationSeconds) {
      throw badArgument(
        'positionSeconds',
        `must be from 0 to durationSeconds (${input.durationSeconds}) (got ${input.positionSeconds})`,
      );
    }
    const entry: ProgressEntry = {
      titleId: title.id,
      positionSeconds: input.positionSeconds,
      durationSeconds: input.durationSeconds,
      updatedAt: new Date().toISOString(),
    };
    try {
      await this.progress.record(input.profileId, entry);
    } catch (error) {
      if (error instanceof ProgressStoreUnavailableError) {
        throw new RecommendationsError(
          RecommendationsErrorCode.PROGRESS_UNAVAILABLE,
          'Playback progress cannot be stored right now; report it again later.',
        );
      }
      throw error;
    }
    return {
      title,
      positionSeconds: entry.positionSeconds,
      durationSeconds: entry.durationSeconds,
      updatedAt: new Date(entry.updatedAt),
    };
  }
}
