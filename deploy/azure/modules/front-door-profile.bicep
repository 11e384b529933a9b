// The Front Door profile alone: its frontDoorId (the X-Azure-FDID header Front Door adds to every
// request it forwards, probes included) must reach the container app as FRONT_DOOR_ID before the
// routing to that app is created (front-door-routing.bicep).

param name string
@allowed(['Standard_AzureFrontDoor', 'Premium_AzureFrontDoor'])
param sku string
param originTimeoutSeconds int
param tags object

resource profile 'Microsoft.Cdn/profiles@2024-02-01' = {
  name: name
  location: 'global'
  tags: tags
  sku: {
    name: sku
  }
  properties: {
    originResponseTimeoutSeconds: originTimeoutSeconds
  }
}

output name string = profile.name
output frontDoorId string = profile.properties.frontDoorId
