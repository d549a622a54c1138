{{/* The chart name, or nameOverride. */}}
{{- define "passkey-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The base name of every resource: fullnameOverride, else the release name when
it already contains the chart name (so `helm install passkey-operator` gives
"passkey-operator", not "passkey-operator-passkey-operator").
*/}}
{{- define "passkey-operator.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Labels every manager pod of the release carries, the main Deployment's and
each shard's: the metrics Service selects on them.
*/}}
{{- define "passkey-operator.instanceLabels" -}}
app.kubernetes.io/name: {{ include "passkey-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Labels that select the main Deployment's pods; they must never change across upgrades. */}}
{{- define "passkey-operator.selectorLabels" -}}
{{ include "passkey-operator.instanceLabels" . }}
app.kubernetes.io/component: manager
{{- end }}

{{/*
Labels that select one shard's pods, given (dict "root" $ "shard" name): a
component of their own, so that the main Deployment's selector never
matches them, and the shard, so that no two shards' selectors overlap.
*/}}
{{- define "passkey-operator.shardSelectorLabels" -}}
{{ include "passkey-operator.instanceLabels" .root }}
app.kubernetes.io/component: shard
passkeys.entraops.dev/shard: {{ .shard }}
{{- end }}

{{/* Labels on every resource but a shard's Deployment. */}}
{{- define "passkey-operator.labels" -}}
{{ include "passkey-operator.labelsWith" (dict "root" . "selectorLabels" (include "passkey-operator.selectorLabels" .)) }}
{{- end }}

{{/* The standard labels around selector labels, given (dict "root" $ "selectorLabels" …). */}}
{{- define "passkey-operator.labelsWith" -}}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ .selectorLabels }}
app.kubernetes.io/version: {{ .root.Values.image.tag | default .root.Chart.AppVersion | quote }}
app.kubernetes.io/part-of: passkey-operator
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
{{- end }}

{{/* The ServiceAccount the manager runs as. */}}
{{- define "passkey-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "passkey-operator.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name must name an existing ServiceAccount when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}
