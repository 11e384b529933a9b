import type { DatasetStatus } from '../publisher/gold-publisher.js';

/** A duration for people: `45s`, `12m`, `3h 12m`, `2d 4h`. */
export const formatAge = (seconds: number): string => {
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return `${s}s`;
  const minutes = Math.floor(s / 60);
  if (minutes < 60) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `${hours}h ${minutes % 60}m`;
  return `${Math.floor(hours / 24)}d ${hours % 24}h`;
};

const pad = (rows: string[][]): string[] => {
  const widths =
    rows[0]?.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length))) ?? [];
  return rows.map((row) =>
    row
      .map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column] ?? 0)))
      .join('  ')
      .trimEnd(),
  );
};

/**
 * The `status` table: one row per dataset, then its WRITING and PRUNING snapshots indented below
 * it.
 */
export const formatStatus = (statuses: readonly DatasetStatus[]): string => {
  const header = ['DATASET', 'ACTIVE', 'PREVIOUS', 'COMPLETED AT', 'AGE', 'DOCUMENTS', 'MODEL'];
  const rows = statuses.map((status) =>
    status.activeSnapshotId === null
      ? [status.dataset, '(never published)', '-', '-', '-', '-', '-']
      : [
          status.dataset,
          status.activeSnapshotId,
          status.previousSnapshotId ?? '-',
          status.completedAt ?? '-',
          status.ageSeconds === null ? '-' : formatAge(status.ageSeconds),
          status.documentCount === null ? '-' : String(status.documentCount),
          status.modelVersion ?? '-',
        ],
  );
  const lines = pad([header, ...rows]);
  const out = [lines[0] ?? ''];
  statuses.forEach((status, index) => {
    out.push(lines[index + 1] ?? '');
    for (const writing of status.writing) {
      out.push(
        `  WRITING ${writing.snapshotId}: started ${writing.startedAt} (${formatAge(writing.ageSeconds)} ago), ${writing.documentCount} documents expected`,
      );
    }
    for (const pruning of status.pruning) {
      out.push(
        `  PRUNING ${pruning.snapshotId}: being deleted, not readable (${pruning.documentCount} documents); if no prune is running, finish it with \`npm run gold -- prune\``,
      );
    }
  });
  return out.join('\n');
};
