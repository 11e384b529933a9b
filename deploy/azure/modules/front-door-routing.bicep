// Front Door in front of the container app: endpoint, origin group with a health probe, the origin
// (the app's ingress FQDN), a rule set for caching and the route.
//
// Caching (src/modules/edge/cache-control.ts decides, per response): the route caches with the
// whole query string in the key and honours the origin's Cache-Control, so catalogue queries
// fetched with GET (persisted queries, `public, max-age, s-maxage`) are cached and everything else
// (`private, no-store` / `no-store`) is not. The rules make the no-cache cases explicit: POST (all
// personal queries and mutations) and the health paths never use the cache.

param profileName string
param endpointName string
param originHostName string
param probeIntervalSeconds int
param tags object

resource profile 'Microsoft.Cdn/profiles@2024-02-01' existing = {
  name: profileName
}

resource endpoint 'Microsoft.Cdn/profiles/afdEndpoints@2024-02-01' = {
  parent: profile
  name: endpointName
  location: 'global'
  tags: tags
  properties: {
    enabledState: 'Enabled'
  }
}

resource originGroup 'Microsoft.Cdn/profiles/originGroups@2024-02-01' = {
  parent: profile
  name: 'flick-api'
  properties: {
    loadBalancingSettings: {
      sampleSize: 4
      successfulSamplesRequired: 3
      additionalLatencyInMilliseconds: 50
    }
    // Liveness, not readiness: the origin is one Container Apps ingress in front of every replica,
    // and a replica that serves degraded answers still serves. Front Door's probes carry
    // X-Azure-FDID, so they pass the origin lock; they are not rate limited.
    healthProbeSettings: {
      probePath: '/health/live'
      probeRequestType: 'HEAD'
      probeProtocol: 'Https'
      probeIntervalInSeconds: probeIntervalSeconds
    }
    sessionAffinityState: 'Disabled'
  }
}

resource origin 'Microsoft.Cdn/profiles/originGroups/origins@2024-02-01' = {
  parent: originGroup
  name: 'container-app'
  properties: {
    hostName: originHostName
    originHostHeader: originHostName
    httpPort: 80
    httpsPort: 443
    priority: 1
    weight: 1000
    enabledState: 'Enabled'
    enforceCertificateNameCheck: true
  }
}

resource ruleSet 'Microsoft.Cdn/profiles/ruleSets@2024-02-01' = {
  parent: profile
  name: 'FlickCaching'
}

// Personal routes: every POST (home, recommendations, popular, mutations, ...) bypasses the cache.
resource noCachePost 'Microsoft.Cdn/profiles/ruleSets/rules@2024-02-01' = {
  parent: ruleSet
  name: 'NoCachePost'
  properties: {
    order: 1
    conditions: [
      {
        name: 'RequestMethod'
        parameters: {
          typeName: 'DeliveryRuleRequestMethodConditionParameters'
          operator: 'Equal'
          negateCondition: false
          matchValues: ['POST']
        }
      }
    ]
    actions: [
      {
        // No cacheConfiguration: caching disabled for the matching requests.
        name: 'RouteConfigurationOverride'
        parameters: {
          typeName: 'DeliveryRuleRouteConfigurationOverrideActionParameters'
        }
      }
    ]
    matchProcessingBehavior: 'Stop'
  }
}

// Probes must always reach a replica.
resource noCacheHealth 'Microsoft.Cdn/profiles/ruleSets/rules@2024-02-01' = {
  parent: ruleSet
  name: 'NoCacheHealth'
  properties: {
    order: 2
    conditions: [
      {
        // Front Door matches the path without its leading slash.
        name: 'UrlPath'
        parameters: {
          typeName: 'DeliveryRuleUrlPathMatchConditionParameters'
          operator: 'BeginsWith'
          negateCondition: false
          matchValues: ['health/']
          transforms: ['Lowercase']
        }
      }
    ]
    actions: [
      {
        name: 'RouteConfigurationOverride'
        parameters: {
          typeName: 'DeliveryRuleRouteConfigurationOverrideActionParameters'
        }
      }
    ]
    matchProcessingBehavior: 'Stop'
  }
}

// The catalogue route: GET /graphql (persisted queries) is cached per full URL for as long as the
// origin's Cache-Control allows (s-maxage = CATALOG_CACHE_S_MAXAGE_SECONDS); the origin answers
// personal GETs with `private, no-store`, which Front Door does not cache.
resource catalogueGet 'Microsoft.Cdn/profiles/ruleSets/rules@2024-02-01' = {
  parent: ruleSet
  name: 'CatalogueGetHonourOrigin'
  properties: {
    order: 3
    conditions: [
      {
        name: 'RequestMethod'
        parameters: {
          typeName: 'DeliveryRuleRequestMethodConditionParameters'
          operator: 'Equal'
          negateCondition: false
          matchValues: ['GET']
        }
      }
      {
        name: 'UrlPath'
        parameters: {
          typeName: 'DeliveryRuleUrlPathMatchConditionParameters'
          operator: 'Equal'
          negateCondition: false
          matchValues: ['graphql']
          transforms: ['Lowercase']
        }
      }
    ]
    actions: [
      {
        name: 'RouteConfigurationOverride'
        parameters: {
          typeName: 'DeliveryRuleRouteConfigurationOverrideActionParameters'
          cacheConfiguration: {
            queryStringCachingBehavior: 'UseQueryString'
            cacheBehavior: 'HonorOrigin'
            isCompressionEnabled: 'Enabled'
          }
        }
      }
    ]
    matchProcessingBehavior: 'Stop'
  }
}

resource route 'Microsoft.Cdn/profiles/afdEndpoints/routes@2024-02-01' = {
  parent: endpoint
  name: 'flick-api'
  dependsOn: [
    // A route needs an origin in its group, and its rule set complete.
    origin
    noCachePost
    noCacheHealth
    catalogueGet
  ]
  properties: {
    originGroup: {
      id: originGroup.id
    }
    ruleSets: [
      {
        id: ruleSet.id
      }
    ]
    supportedProtocols: ['Http', 'Https']
    httpsRedirect: 'Enabled'
    forwardingProtocol: 'HttpsOnly'
    // The API and its probes; anything else is answered 404 by Front Door itself.
    patternsToMatch: ['/graphql', '/health/*']
    linkToDefaultDomain: 'Enabled'
    cacheConfiguration: {
      // The cache key is the whole URL (persisted-query hash and variables); Authorization is not in it.
      queryStringCachingBehavior: 'UseQueryString'
      compressionSettings: {
        isCompressionEnabled: true
        contentTypesToCompress: ['application/json', 'application/graphql-response+json']
      }
    }
    enabledState: 'Enabled'
  }
}

output hostName string = endpoint.properties.hostName
