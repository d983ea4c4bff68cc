{{- define "fsdr.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}{{ .Release.Name | trunc 63 | trimSuffix "-" }}{{- else -}}{{ printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" }}{{- end -}}
{{- end -}}

{{- define "fsdr.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "fsdr.selector" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "fsdr.secretName" -}}
{{- .Values.secrets.existingSecret | default (include "fsdr.fullname" .) -}}
{{- end -}}

{{/* fsdr.yaml: the user's config with the keys that follow the pod's layout set by the chart. */}}
{{- define "fsdr.config" -}}
{{- $fixed := dict
  "cluster" (dict "connection" (printf "postgres://postgres@127.0.0.1:%v/postgres" .Values.postgres.port) "pgdata" "/var/lib/postgresql/data/pgdata")
  "encryption" (dict "masterKey" "file:/etc/fsdr/secret/master-key")
  "agent" (dict "listen" (printf "0.0.0.0:%v" .Values.agent.port) "token" "env:FSDR_AGENT_TOKEN")
  "archive" (dict "spoolPath" "/var/lib/fsdr/work/spool")
  "drill" (dict "workDir" "/var/lib/fsdr/work/drills") -}}
{{- toYaml (mergeOverwrite (deepCopy .Values.config) $fixed) -}}
{{- end -}}

{{/* Environment both containers share: where fsdr.yaml is, the token, the password libpq reads. */}}
{{- define "fsdr.env" -}}
- name: FSDR_CONFIG
  value: /etc/fsdr/config/fsdr.yaml
- name: FSDR_AGENT_TOKEN
  valueFrom: { secretKeyRef: { name: {{ include "fsdr.secretName" . }}, key: agent-token } }
- name: PGPASSWORD
  valueFrom: { secretKeyRef: { name: {{ include "fsdr.secretName" . }}, key: postgres-password } }
{{- end -}}
