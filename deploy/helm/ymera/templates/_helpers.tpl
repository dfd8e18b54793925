{{/* Names and labels shared by the templates. */}}

{{- define "ymera.fullname" -}}
{{- printf "%s-ymera" .Release.Name -}}
{{- end -}}

{{- define "ymera.labels" -}}
app.kubernetes.io/name: ymera
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end -}}

{{- define "ymera.secretName" -}}
{{- default (include "ymera.fullname" .) .Values.secrets.existingSecret -}}
{{- end -}}

{{- define "ymera.natsUrl" -}}
{{- default (printf "nats://%s-nats:4222" .Release.Name) .Values.natsUrl -}}
{{- end -}}

{{- define "ymera.image" -}}
{{- printf "%s:%s" .Values.image.repository .Values.image.tag -}}
{{- end -}}

{{/* The probes of every ymera container: readiness is 503 while the
database or NATS is unreachable, so traffic goes elsewhere. */}}
{{- define "ymera.probes" -}}
readinessProbe:
  httpGet:
    path: /health/ready
    port: http
  periodSeconds: 10
  timeoutSeconds: 3
livenessProbe:
  httpGet:
    path: /health/live
    port: http
  periodSeconds: 10
  timeoutSeconds: 3
  failureThreshold: 6
{{- end -}}
