// The Container Apps environment (logs to Log Analytics) and the Flick API app: external HTTPS
// ingress to port 3000, probes on /health/live and /health/ready (carrying X-Azure-FDID, which the
// origin lock demands of every request), HTTP scaling, and the service's configuration. Secrets
// (CURSOR_SECRET, the Redis key) are Container Apps secrets or a Key Vault reference; Cosmos DB and
// Blob storage need none (managed identity).

param environmentName string
param appName string
param location string
param tags object
param logAnalyticsName string

param identityId string
param identityClientId string

param image string
@description('Registry to pull from with the managed identity; empty: no registry credentials.')
param registryServer string
param cpu string
param memory string
param minReplicas int
param maxReplicas int
param httpConcurrentRequests int
param shutdownGraceMs int
param logLevel string
param additionalEnv array
param exposeMetricsInEnvironment bool
param ingressAllowedCidrs array

param frontDoorId string
param authIssuer string
param authAudience string
param authJwksUrl string
@secure()
param cursorSecret string
param cursorSecretKeyVaultUrl string

param cosmosEndpoint string
param cosmosDatabaseName string
param cosmosPreferredRegions string
param goldFreshnessObjectives string
param goldHardLimits string

@allowed(['managed', 'cache'])
param redisService string
param redisName string
param redisHost string
param redisPort int
@allowed(['standalone', 'cluster'])
param redisMode string

param exportsAccountUrl string
param exportsContainerName string
param exportsDailyAt string

param otlpEndpoint string

var port = 3000
var metricsPort = 9464

// The process exits at the latest SHUTDOWN_GRACE_MS + 5 s after SIGTERM (src/health/graceful-shutdown.ts:
// grace, then up to 5 s of shutdown hooks); SIGKILL comes 5 s after that.
var terminationGracePeriodSeconds = (shutdownGraceMs + 999) / 1000 + 10

resource logAnalytics 'Microsoft.OperationalInsights/workspaces@2023-09-01' existing = {
  name: logAnalyticsName
}

// The Redis access key is read here, so that it never passes through a deployment output. Only
// the branch of the service in use is evaluated.
resource managedRedis 'Microsoft.Cache/redisEnterprise@2025-07-01' existing = {
  name: redisName
}

resource managedRedisDatabase 'Microsoft.Cache/redisEnterprise/databases@2025-07-01' existing = {
  parent: managedRedis
  name: 'default'
}

resource cacheRedis 'Microsoft.Cache/redis@2024-11-01' existing = {
  name: redisName
}

resource managedEnvironment 'Microsoft.App/managedEnvironments@2025-01-01' = {
  name: environmentName
  location: location
  tags: tags
  properties: {
    appLogsConfiguration: {
      destination: 'log-analytics'
      logAnalyticsConfiguration: {
        customerId: logAnalytics.properties.customerId
        sharedKey: logAnalytics.listKeys().primarySharedKey
      }
    }
    workloadProfiles: [
      {
        name: 'Consumption'
        workloadProfileType: 'Consumption'
      }
    ]
  }
}

// ---------------------------------------------------------------- secrets

var cursorSecretValue = {
  name: 'cursor-secret'
  value: cursorSecret
}
var cursorSecretReference = {
  name: 'cursor-secret'
  keyVaultUrl: cursorSecretKeyVaultUrl
  identity: identityId
}
var cursorSecretEntry = empty(cursorSecretKeyVaultUrl) ? cursorSecretValue : cursorSecretReference

var redisKey = redisService == 'managed' ? managedRedisDatabase.listKeys().primaryKey : cacheRedis.listKeys().primaryKey
// ioredis percent-decodes the password of a rediss:// URL; access keys contain + / =.
var redisUrlSecret = {
  name: 'redis-url'
  value: 'rediss://:${uriComponent(redisKey)}@${redisHost}:${redisPort}'
}
var redisPasswordSecret = {
  name: 'redis-password'
  value: redisKey
}
var redisSecret = redisMode == 'standalone' ? redisUrlSecret : redisPasswordSecret

// ---------------------------------------------------------------- environment variables

var redisStandaloneEnv = [
  { name: 'REDIS_URL', secretRef: 'redis-url' }
]
var redisClusterEnv = [
  { name: 'REDIS_CLUSTER_NODES', value: '${redisHost}:${redisPort}' }
  { name: 'REDIS_TLS', value: 'true' }
  { name: 'REDIS_PASSWORD', secretRef: 'redis-password' }
]
var redisEnv = redisMode == 'standalone' ? redisStandaloneEnv : redisClusterEnv

// Read by src/modules/telemetry/otel.ts (not part of config.schema.ts): set, spans go out over OTLP/HTTP.
var otelOnEnv = [
  { name: 'OTEL_EXPORTER_OTLP_ENDPOINT', value: otlpEndpoint }
  { name: 'OTEL_SERVICE_NAME', value: 'flick-api' }
]
var otelEnv = empty(otlpEndpoint) ? [] : otelOnEnv

// An empty value counts as unset for the service (src/modules/config/app-config.ts); these are left
// out when empty anyway, so that a revision shows only what is set.
var preferredRegionsEnv = empty(cosmosPreferredRegions) ? [] : [{ name: 'COSMOS_PREFERRED_REGIONS', value: cosmosPreferredRegions }]
var freshnessEnv = empty(goldFreshnessObjectives) ? [] : [{ name: 'GOLD_FRESHNESS_OBJECTIVES', value: goldFreshnessObjectives }]
var hardLimitsEnv = empty(goldHardLimits) ? [] : [{ name: 'GOLD_HARD_LIMITS', value: goldHardLimits }]

var baseEnv = [
  { name: 'NODE_ENV', value: 'production' }
  { name: 'PORT', value: string(port) }
  { name: 'METRICS_PORT', value: string(metricsPort) }
  { name: 'LOG_LEVEL', value: logLevel }
  // DefaultAzureCredential picks the user-assigned identity by this client id.
  { name: 'AZURE_CLIENT_ID', value: identityClientId }
  // No COSMOS_KEY: the service signs in to Cosmos DB with Entra ID.
  { name: 'COSMOS_ENDPOINT', value: cosmosEndpoint }
  { name: 'COSMOS_DATABASE', value: cosmosDatabaseName }
  { name: 'AUTH_ISSUER', value: authIssuer }
  { name: 'AUTH_AUDIENCE', value: authAudience }
  { name: 'AUTH_JWKS_URL', value: authJwksUrl }
  { name: 'CURSOR_SECRET', secretRef: 'cursor-secret' }
  { name: 'FRONT_DOOR_ID', value: frontDoorId }
  { name: 'EXPORTS_STORAGE_ACCOUNT_URL', value: exportsAccountUrl }
  { name: 'EXPORTS_CONTAINER', value: exportsContainerName }
  { name: 'EXPORTS_DAILY_AT', value: exportsDailyAt }
  { name: 'SHUTDOWN_GRACE_MS', value: string(shutdownGraceMs) }
]

// ---------------------------------------------------------------- probes

// With FRONT_DOOR_ID set the service answers 403 to any request without this header, probes included.
var probeHeaders = [
  { name: 'X-Azure-FDID', value: frontDoorId }
]

var probes = [
  {
    // Until the process answers HTTP (the catalogue loads in the background).
    type: 'Startup'
    httpGet: { path: '/health/live', port: port, scheme: 'HTTP', httpHeaders: probeHeaders }
    initialDelaySeconds: 2
    periodSeconds: 3
    timeoutSeconds: 2
    failureThreshold: 10
  }
  {
    type: 'Liveness'
    httpGet: { path: '/health/live', port: port, scheme: 'HTTP', httpHeaders: probeHeaders }
    periodSeconds: 10
    timeoutSeconds: 3
    failureThreshold: 3
  }
  {
    // 503 until the catalogue is in memory, when Cosmos DB has not answered for three manifest
    // refreshes, and from the first SIGTERM on (draining).
    type: 'Readiness'
    httpGet: { path: '/health/ready', port: port, scheme: 'HTTP', httpHeaders: probeHeaders }
    periodSeconds: 5
    timeoutSeconds: 3
    failureThreshold: 3
    successThreshold: 1
  }
]

// ---------------------------------------------------------------- the app

// Prometheus /metrics, reachable from other apps of the environment only (never from Front Door).
var metricsPortMapping = [
  {
    external: false
    targetPort: metricsPort
    exposedPort: metricsPort
  }
]

var registry = [
  {
    server: registryServer
    identity: identityId
  }
]

resource app 'Microsoft.App/containerApps@2025-01-01' = {
  name: appName
  location: location
  tags: tags
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    environmentId: managedEnvironment.id
    workloadProfileName: 'Consumption'
    configuration: {
      activeRevisionsMode: 'Single'
      ingress: {
        external: true
        targetPort: port
        // HTTP/1.1 to the replica: while draining, responses say `Connection: close`.
        transport: 'http'
        allowInsecure: false
        traffic: [
          {
            latestRevision: true
            weight: 100
          }
        ]
        ipSecurityRestrictions: [
          for (cidr, i) in ingressAllowedCidrs: {
            name: 'allow-${i}'
            ipAddressRange: cidr
            action: 'Allow'
          }
        ]
        additionalPortMappings: exposeMetricsInEnvironment ? metricsPortMapping : []
      }
      registries: empty(registryServer) ? [] : registry
      secrets: [
        cursorSecretEntry
        redisSecret
      ]
    }
    template: {
      terminationGracePeriodSeconds: terminationGracePeriodSeconds
      containers: [
        {
          name: 'api'
          image: image
          resources: {
            cpu: json(cpu)
            memory: memory
          }
          env: concat(baseEnv, redisEnv, preferredRegionsEnv, freshnessEnv, hardLimitsEnv, otelEnv, additionalEnv)
          probes: probes
        }
      ]
      scale: {
        minReplicas: minReplicas
        maxReplicas: maxReplicas
        rules: [
          {
            name: 'http-concurrency'
            http: {
              metadata: {
                concurrentRequests: string(httpConcurrentRequests)
              }
            }
          }
        ]
      }
    }
  }
}

output fqdn string = app.properties.configuration.ingress.fqdn
output name string = app.name
