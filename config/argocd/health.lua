-- Argo CD health check for passkeys.entraops.dev resources (EntraTenant,
-- PasskeyProfile, GroupAssignment). The operator writes kstatus conditions
-- (Ready, Reconciling, Stalled) plus Drifted and status.drift; this script
-- reads them in the order a person would. Tested against objects captured
-- from real runs: internal/contracttest/argocd_health_test.go.
local hs = {}

local generation = obj.metadata.generation or 0

-- condition returns the named condition if it describes this generation:
-- an older one says nothing about the spec Argo CD just applied.
local function condition(conditionType)
  if obj.status == nil or obj.status.conditions == nil then
    return nil
  end
  for _, c in ipairs(obj.status.conditions) do
    if c.type == conditionType and c.observedGeneration == generation then
      return c
    end
  end
  return nil
end

local function isTrue(c)
  return c ~= nil and c.status == "True"
end

local function describe(c)
  return (c.reason or "") .. ": " .. (c.message or "")
end

-- driftMessage lists each field where Entra differs from the spec.
local function driftMessage(c)
  local fields = {}
  if obj.status.drift ~= nil then
    for _, d in ipairs(obj.status.drift) do
      table.insert(fields, (d.field or "") .. " (want " .. (d.desired or "") .. ", Entra has " .. (d.observed or "") .. ")")
    end
  end
  if #fields == 0 then
    return describe(c)
  end
  return c.reason .. ": Entra differs from the spec in " .. table.concat(fields, "; ")
end

local ready = condition("Ready")

-- Deletion first: a resource on its way out is never Healthy or Degraded,
-- it waits for the operator to release its part of Entra.
if obj.metadata.deletionTimestamp ~= nil then
  hs.status = "Progressing"
  hs.message = "being deleted"
  if ready ~= nil and ready.message ~= nil then
    hs.message = "being deleted: " .. ready.message
  end
  return hs
end

-- spec.suspend on the resource, or its EntraTenant's (shown by the
-- operator as Ready=False with reason Suspended).
if (obj.spec ~= nil and obj.spec.suspend == true) or (ready ~= nil and ready.reason == "Suspended") then
  hs.status = "Suspended"
  hs.message = "spec.suspend is true"
  if ready ~= nil and ready.reason == "Suspended" then
    hs.message = ready.message
  end
  return hs
end

local drifted = condition("Drifted")
if isTrue(drifted) then
  hs.status = "Degraded"
  hs.message = driftMessage(drifted)
  return hs
end

local stalled = condition("Stalled")
if isTrue(stalled) then
  hs.status = "Degraded"
  hs.message = describe(stalled)
  return hs
end

local reconciling = condition("Reconciling")
if isTrue(reconciling) then
  hs.status = "Progressing"
  hs.message = describe(reconciling)
  return hs
end

local observed = -1
if obj.status ~= nil and obj.status.observedGeneration ~= nil then
  observed = obj.status.observedGeneration
end
if observed ~= generation then
  hs.status = "Progressing"
  if observed < 0 then
    hs.message = "waiting for the operator's first reconcile"
  else
    hs.message = "waiting for the operator to reconcile generation " .. generation .. " (last reconciled: " .. observed .. ")"
  end
  return hs
end

if isTrue(ready) then
  hs.status = "Healthy"
  hs.message = ready.message
  return hs
end

hs.status = "Progressing"
hs.message = "waiting for the Ready condition"
if ready ~= nil then
  hs.message = describe(ready)
end
return hs
