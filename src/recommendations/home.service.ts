import { Injectable } from '@nestjs/common';

import { CatalogService } from '../catalog/catalog.service.js';
import type { CatalogSnapshot } from '../catalog/catalog-snapshot.js';
import { utcDay } from '../catalog/catalog-title.js';
import type { DeviceClass } from '../gold/contract/common.schema.js';
import type { Principal } from '../modules/auth/principal.js';
import { PlaybackProgressStore, type ProgressEntry } from '../modules/cache/playback-progress.store.js';
import type { Deadline } from '../modules/resilience/deadline.js';
import { ResilienceService } from '../modules/resilience/resilience.service.js';
import { Counters } from '../modules/telemetry/counters.service.js';
import { EMERGENCY_SNAPSHOT_ID, emergencyTitles } from './emergency/emergency-titles.js';
import { progressReadEarlier, rememberServedHome } from './home-request-state.js';
import { buildHomePage, type HomeRow } from './home-page.builder.js';
import { ContentSource, DegradedReason, type ResponseMeta } from './models/response-meta.model.js';
import { PersonalGoldService, type ProfileRead } from './personal-gold.service.js';
import { PopularTitlesService, type PopularRead } from './popular-titles.service.js';
import { badArgument, RecommendationsError, RecommendationsErrorCode } from './recommendations.errors.js';
import {
  rankedRecommendations,
  recommendationPage,
  type RankedRecommendation,
} from './recommendation-list.js';
import { resolveRowLimits } from './row-limits.js';
import { PageFilter, serveContextOf, type ServeContext } from './serve-rules.js';

/**
 * Maturity used when a profile's gold cannot be read: its maturity level is unknown then, so the
 * page is family-safe (older kids) rather than risk showing a kids profile mature titles.
 */
export const UNKNOWN_PROFILE_MATURITY = 2;

/** `popular` serves the account, not a profile: every maturity level. */
const MAX_MATURITY = 4;
const MAX_POPULAR = 100;

export interface DevicePage {
  profileId: string;
  rows: HomeRow[];
  meta: ResponseMeta;
}

/** What a device request is about: who asks (from the verified token) and for which profile. */
export interface DeviceRequest {
  principal: Principal;
  profileId: string;
  /** Pins the catalogue snapshot for the whole request. */
  pin: object;
}

@Injectable()
export class HomeService {
  constructor(
    private readonly catalog: CatalogService,
    private readonly personal: PersonalGoldService,
    private readonly popular: PopularTitlesService,
    private readonly progress: PlaybackProgressStore,
    private readonly counters: Counters,
    private readonly resilience: ResilienceService,
  ) {}

  /** The profile must be one of the token's account; the country is always the token's. */
  assertOwnProfile(principal: Principal, profileId: string): string {
    if (principal.profileIds?.includes(profileId) !== true || principal.country === undefined) {
      throw new RecommendationsError(
        RecommendationsErrorCode.PROFILE_NOT_OWNED,
        `Profile "${profileId}" does not belong to this account.`,
      );
    }
    return principal.country;
  }

  deadline(): Deadline {
    return this.resilience.requestDeadline();
  }

  async home(
    request: DeviceRequest,
    device: DeviceClass,
    rows?: number | null,
    titlesPerRow?: number | null,
  ): Promise<DevicePage> {
    const country = this.assertOwnProfile(request.principal, request.profileId);
    const limits = resolveRowLimits(device, rows, titlesPerRow);
    const deadline = this.deadline();
    let personal: ProfileRead;
    let popular: PopularRead;
    let progress: ProgressEntry[] | undefined;
    try {
      [personal, popular, progress] = await Promise.all([
        this.personal.read(request.profileId, deadline),
        this.popular.read(country, device, deadline),
        progressReadEarlier(request.pin, request.profileId) ??
          this.progress.list(request.profileId).catch(() => undefined),
      ]);
    } finally {
      deadline.dispose();
    }
    const catalog = this.catalogOrEmergency(request.pin);
    const context = this.serveContext(country, personal, progress ?? []);
    const pageRows = buildHomePage({
      catalog,
      context,
      profile: personal.profile,
      progress: progress ?? [],
      popular: popular.titleIds,
      limits,
    });
    const meta = this.meta(
      'home',
      personal,
      popular,
      progress === undefined ? [DegradedReason.CACHE_UNAVAILABLE] : [],
    );
    rememberServedHome(request.pin, meta);
    return { profileId: request.profileId, rows: pageRows, meta };
  }

  serveContext(
    country: string,
    personal: ProfileRead,
    progress: readonly ProgressEntry[] = [],
  ): ServeContext {
    return serveContextOf({
      country,
      day: utcDay(),
      profile: personal.profile,
      progress,
      maturityLevelWhenUnknown: UNKNOWN_PROFILE_MATURITY,
    });
  }

  /** The in-memory catalogue, or the bundled emergency titles when none is loaded yet. */
  catalogOrEmergency(pin: object): CatalogSnapshot {
    return this.catalog.isReady() ? this.catalog.current(pin) : emergencyTitles().catalog;
  }

  /** How the response was served, counted for the operators. */
  meta(
    operation: string,
    personal: ProfileRead | undefined,
    popular: PopularRead | undefined,
    extraReasons: DegradedReason[] = [],
  ): ResponseMeta {
    const personalServed = personal?.profile != null;
    const source: ContentSource = personalServed
      ? personal.source
      : (popular?.source ?? ContentSource.EMERGENCY);
    const reasons = [
      ...new Set([...(personal?.reasons ?? []), ...(popular?.reasons ?? []), ...extraReasons]),
    ];
    const origin = personalServed ? personal : (popular ?? personal);
    this.counters.increment('device_responses_total', { operation, source });
    for (const reason of reasons)
      this.counters.increment('device_degraded_reasons_total', { operation, reason });
    return {
      source,
      degraded: source !== ContentSource.PERSONALIZED || reasons.length > 0,
      reasons,
      snapshotId: origin?.snapshotId ?? null,
      dataAgeSeconds: origin?.dataAgeSeconds ?? null,
    };
  }

  /** The profile's ranked recommendations after the serve-time rules, or popular titles without them. */
  async recommendations(request: DeviceRequest, first: number, after: string | null | undefined) {
    const country = this.assertOwnProfile(request.principal, request.profileId);
    const deadline = this.deadline();
    let personal: ProfileRead;
    let popular: PopularRead | undefined;
    try {
      personal = await this.personal.read(request.profileId, deadline);
      if (personal.profile === null) popular = await this.popular.read(country, 'MOBILE', deadline);
    } finally {
      deadline.dispose();
    }
    const catalog = this.catalogOrEmergency(request.pin);
    const context = this.serveContext(country, personal);
    const ranked =
      personal.profile === null
        ? this.popularAsRecommendations(catalog, context, popular?.titleIds ?? [])
        : rankedRecommendations(catalog, context, personal.profile);
    const page = recommendationPage(ranked, {
      first,
      after,
      snapshotId: personal.snapshotId ?? popular?.snapshotId ?? EMERGENCY_SNAPSHOT_ID,
    });
    return { page, meta: this.meta('recommendations', personal, popular) };
  }

  /** Popular titles for the token's country and a device class, after licence rules. */
  async popularTitles(principal: Principal, device: DeviceClass, first: number, pin: object) {
    if (principal.country === undefined) {
      throw new RecommendationsError(
        RecommendationsErrorCode.PROFILE_NOT_OWNED,
        'The token names no country.',
      );
    }
    if (!Number.isInteger(first) || first < 1 || first > MAX_POPULAR) {
      throw badArgument('first', `must be an integer from 1 to ${MAX_POPULAR} (got ${first})`);
    }
    const deadline = this.deadline();
    let popular: PopularRead;
    try {
      popular = await this.popular.read(principal.country, device, deadline);
    } finally {
      deadline.dispose();
    }
    const catalog = this.catalogOrEmergency(pin);
    const filter = new PageFilter(catalog, {
      country: principal.country,
      day: utcDay(),
      maturityLevel: MAX_MATURITY,
      watched: new Set(),
    });
    const titles = filter.takeIds(popular.titleIds, first);
    return { country: principal.country, device, titles, meta: this.meta('popular', undefined, popular) };
  }

  private popularAsRecommendations(
    catalog: CatalogSnapshot,
    context: ServeContext,
    titleIds: readonly string[],
  ): RankedRecommendation[] {
    const filter = new PageFilter(catalog, context);
    const ranked: RankedRecommendation[] = [];
    titleIds.forEach((titleId, rank) => {
      const title = filter.takeId(titleId);
      if (title !== null) ranked.push({ title, score: 0, reason: 'Popular in your country', rank });
    });
    return ranked;
  }
}
