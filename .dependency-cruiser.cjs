/** Architecture rules (ARCHITECTURE §3): SDKs stay in their infrastructure, features stay apart. */
module.exports = {
  forbidden: [
    {
      name: 'cosmos-sdk-only-in-repositories',
      comment: 'Only repositories and the cosmos module talk to Cosmos DB.',
      severity: 'error',
      from: { path: '^src/', pathNot: ['\\.repository\\.ts$', '^src/modules/cosmos/'] },
      to: { path: 'node_modules/@azure/cosmos/' },
    },
    {
      name: 'redis-client-only-in-cache-module',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/modules/cache/' },
      to: { path: 'node_modules/ioredis/' },
    },
    {
      name: 'blob-sdk-only-in-export-blob-store',
      comment: 'Only the export blob store talks to Blob storage (src/dev and the tests may too).',
      severity: 'error',
      from: { path: '^src/', pathNot: ['^src/partner-exports/export-blob\\.store\\.ts$', '^src/dev/'] },
      to: { path: 'node_modules/@azure/storage-blob/' },
    },
    {
      name: 'dev-tools-stay-out-of-the-service',
      comment: 'src/dev (embedded servers, demo, token tool) is never imported by the service.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/dev/' },
      to: { path: '^src/dev/' },
    },
    {
      name: 'infrastructure-has-no-features',
      comment: 'src/modules holds infrastructure only; it may use the gold contract, never a feature.',
      severity: 'error',
      from: { path: '^src/modules/' },
      to: { path: '^src/(catalog|recommendations|segments|partner-exports|health)/' },
    },
    {
      name: 'features-use-each-other-through-their-module-api',
      comment: "A feature imports another feature's exported service or model, never its repository.",
      severity: 'error',
      from: { path: '^src/(catalog|recommendations|segments|partner-exports|health)/' },
      to: {
        path: '^src/(catalog|recommendations|segments|partner-exports|health)/.+\\.repository\\.ts$',
        pathNot: '^src/$1/',
      },
    },
    {
      name: 'no-circular',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '\\.spec\\.ts$' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default'],
    },
  },
};
