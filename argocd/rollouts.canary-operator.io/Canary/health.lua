-- Argo CD health check for rollouts.canary-operator.io/Canary (see docs/install.md).
-- Reads only .status (phase, observedGeneration, message, weights) as the operator writes it.
local hs = {}
local status = obj.status

local function summary(phase)
  local text = "Phase " .. phase
  if status.canaryWeight ~= nil then
    text = text .. ": canary weight " .. tostring(status.canaryWeight) .. "%"
  end
  if status.totalSteps ~= nil and status.totalSteps > 0 then
    text = text .. " (step " .. tostring(status.currentStep or 0) .. "/" .. tostring(status.totalSteps) .. ")"
  end
  return text
end

if status == nil or status.phase == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the canary operator to report a status"
  return hs
end

local generation = obj.metadata and obj.metadata.generation
if generation ~= nil and (status.observedGeneration == nil or status.observedGeneration < generation) then
  hs.status = "Progressing"
  hs.message = "Waiting for the canary operator to observe generation " .. tostring(generation)
  return hs
end

local phase = status.phase
local by_phase = {
  Succeeded = "Healthy",
  Pending = "Progressing",
  Progressing = "Progressing",
  Promoting = "Progressing",
  Paused = "Suspended",
  RollingBack = "Degraded",
  RolledBack = "Degraded",
  Failed = "Degraded",
}
hs.status = by_phase[phase] or "Unknown"
if status.message ~= nil and status.message ~= "" then
  hs.message = status.message
elseif hs.status == "Unknown" then
  hs.message = "Unknown phase " .. tostring(phase)
else
  hs.message = summary(phase)
end
return hs
