#!/usr/bin/env bash
# Deploy sgroute to GKE with the official Dagster Helm chart. Idempotent: every step creates what is missing and
# updates what exists, so a second run with the same settings changes nothing but the image tag.
#
#   deploy/gcp/deploy.sh [--dry-run] [--env-file FILE]
#
# Steps: Artifact Registry repository; bucket (+ its prefixes and lifecycle); Secret Manager secrets (a new
# version only for a value given in the environment that differs from the current one); Google service account
# and its IAM bindings (bucket, secrets, Workload Identity); the image (Cloud Build, or docker with
# BUILD_WITH=docker); cluster credentials, namespace, Kubernetes service account, settings and External Secrets;
# both migrations as a one-off Job from the new image, waited for; then `helm upgrade --install`.
# --dry-run prints every gcloud/kubectl/helm/docker command (and the files it would apply) and runs none.
#
# Settings (environment or --env-file; see deploy/README.md):
#   required: GCP_PROJECT GCP_REGION GKE_CLUSTER SGROUTE_BUCKET CLOUDSQL_PRIVATE_IP
#   optional: K8S_NAMESPACE (sgroute) RELEASE (sgroute) IMAGE_TAG (git commit) AR_REPOSITORY (sgroute)
#             DB_USER (sgroute) DB_NAME (sgroute) SGROUTE_RETENTION_DAYS (90) BUILD_WITH (cloudbuild|docker)
#   secret values, only to create or rotate them: DATABASE_URL ONEMAP_EMAIL ONEMAP_PASSWORD DAGSTER_PG_PASSWORD
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
dry_run=0
env_file=""

usage() {
  sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'
}

while [ $# -gt 0 ]; do
  case "$1" in
    --dry-run) dry_run=1 ;;
    --env-file)
      env_file=${2:?--env-file needs a file}
      shift
      ;;
    -h | --help)
      usage
      exit 0
      ;;
    *)
      echo "deploy.sh: unknown argument '$1'" >&2
      usage >&2
      exit 2
      ;;
  esac
  shift
done

if [ -n "$env_file" ]; then
  # shellcheck disable=SC1090  # the operator's settings file
  set -a && . "$env_file" && set +a
fi

# --- settings: all missing ones named in one message, before anything runs -------------------------------------
required=(GCP_PROJECT GCP_REGION GKE_CLUSTER SGROUTE_BUCKET CLOUDSQL_PRIVATE_IP)
missing=()
for name in "${required[@]}"; do
  if [ -z "${!name:-}" ]; then
    missing+=("$name")
  fi
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "deploy.sh: missing settings: ${missing[*]} (set them in the environment or an --env-file; see deploy/README.md)" >&2
  exit 2
fi

K8S_NAMESPACE=${K8S_NAMESPACE:-sgroute}
RELEASE=${RELEASE:-sgroute}
AR_REPOSITORY=${AR_REPOSITORY:-sgroute}
DB_USER=${DB_USER:-sgroute}
DB_NAME=${DB_NAME:-sgroute}
SGROUTE_RETENTION_DAYS=${SGROUTE_RETENTION_DAYS:-90}
BUILD_WITH=${BUILD_WITH:-cloudbuild}
if [ -z "${IMAGE_TAG:-}" ]; then
  IMAGE_TAG=$(git -C "$root" rev-parse --short=12 HEAD 2>/dev/null || date -u +%Y%m%d%H%M%S)
fi
IMAGE_REPOSITORY="${GCP_REGION}-docker.pkg.dev/${GCP_PROJECT}/${AR_REPOSITORY}/sgroute"
GSA_NAME=sgroute-dagster
GSA_EMAIL="${GSA_NAME}@${GCP_PROJECT}.iam.gserviceaccount.com"
KSA_NAME=sgroute-dagster
# The chart version is the Dagster version the code location pins (they are released together).
CHART_VERSION=$(sed -n 's/^ *"dagster==\([0-9.]*\)",$/\1/p' "$root/pyproject.toml")
if [ -z "$CHART_VERSION" ]; then
  echo "deploy.sh: no dagster==X.Y.Z pin in pyproject.toml to take the chart version from" >&2
  exit 2
fi
case "$BUILD_WITH" in
  cloudbuild | docker) ;;
  *)
    echo "deploy.sh: BUILD_WITH must be cloudbuild or docker, not '$BUILD_WITH'" >&2
    exit 2
    ;;
esac
BUCKET_PREFIXES=(incoming/ exports/ quarantine/ actuals/ dagster/ compute-logs/)
# Secret Manager secret -> the environment variable that may carry a new value for it.
SECRETS=(sgroute-database-url:DATABASE_URL sgroute-onemap-email:ONEMAP_EMAIL
  sgroute-onemap-password:ONEMAP_PASSWORD sgroute-dagster-pg-password:DAGSTER_PG_PASSWORD)

if [ "$dry_run" -eq 0 ]; then
  absent=()
  for tool in gcloud kubectl helm; do
    command -v "$tool" >/dev/null 2>&1 || absent+=("$tool")
  done
  if [ "$BUILD_WITH" = docker ]; then
    command -v docker >/dev/null 2>&1 || absent+=(docker)
  fi
  if [ ${#absent[@]} -gt 0 ]; then
    echo "deploy.sh: missing tools: ${absent[*]}" >&2
    exit 2
  fi
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# --- helpers ----------------------------------------------------------------------------------------------------
say() { printf '\n== %s\n' "$*"; }

show() { # the command as it would be typed
  local out="+" word
  for word in "$@"; do
    out+=" $(printf '%q' "$word")"
  done
  printf '%s\n' "$out"
}

run() {
  show "$@"
  if [ "$dry_run" -eq 0 ]; then
    "$@"
  fi
}

# ensure CHECK... -- CREATE...: run CREATE only when CHECK fails (the resource does not exist yet).
ensure() {
  local check=() create=()
  while [ "$1" != "--" ]; do
    check+=("$1")
    shift
  done
  shift
  create=("$@")
  printf '%s || %s\n' "$(show "${check[@]}")" "$(show "${create[@]}" | cut -c3-)"
  if [ "$dry_run" -eq 0 ] && ! "${check[@]}" >/dev/null 2>&1; then
    "${create[@]}"
  fi
}

# Fill in ${NAME} placeholders of a template with the settings above (and nothing else).
render() {
  local template=$1 target=$2 name value script=()
  for name in K8S_NAMESPACE GCP_PROJECT GCP_REGION GKE_CLUSTER SGROUTE_BUCKET CLOUDSQL_PRIVATE_IP DB_USER DB_NAME \
    IMAGE_REPOSITORY IMAGE_TAG GSA_EMAIL SGROUTE_RETENTION_DAYS; do
    value=${!name}
    value=${value//\\/\\\\}
    value=${value//|/\\|}
    value=${value//&/\\&}
    script+=(-e "s|\${$name}|$value|g")
  done
  sed "${script[@]}" "$template" >"$target"
  # shellcheck disable=SC2016  # a literal ${NAME}, left when a placeholder has no setting
  if grep -n '\${[A-Z_]*}' "$target" >&2; then
    echo "deploy.sh: unfilled placeholders in $template" >&2
    exit 2
  fi
  if [ "$dry_run" -eq 1 ]; then
    printf -- '--- %s (from %s)\n' "$(basename "$target")" "${template#"$root"/}"
    grep -v '^\s*#' "$target" | sed 's/^/    /'
  fi
}

gc=(gcloud --project "$GCP_PROJECT" --quiet)
kc=(kubectl --namespace "$K8S_NAMESPACE")

# --- Google Cloud -----------------------------------------------------------------------------------------------
say "Artifact Registry repository $AR_REPOSITORY"
ensure "${gc[@]}" artifacts repositories describe "$AR_REPOSITORY" --location "$GCP_REGION" -- \
  "${gc[@]}" artifacts repositories create "$AR_REPOSITORY" --location "$GCP_REGION" --repository-format docker

say "bucket gs://$SGROUTE_BUCKET"
ensure "${gc[@]}" storage buckets describe "gs://$SGROUTE_BUCKET" -- \
  "${gc[@]}" storage buckets create "gs://$SGROUTE_BUCKET" --location "$GCP_REGION" --uniform-bucket-level-access
run "${gc[@]}" storage buckets update "gs://$SGROUTE_BUCKET" --uniform-bucket-level-access \
  --lifecycle-file "$here/bucket-lifecycle.json"
: >"$work/empty"
for prefix in "${BUCKET_PREFIXES[@]}"; do
  # A zero-byte "folder" object, as the console makes; the stop file sensor skips it.
  ensure "${gc[@]}" storage objects describe "gs://$SGROUTE_BUCKET/$prefix" -- \
    "${gc[@]}" storage cp "$work/empty" "gs://$SGROUTE_BUCKET/$prefix"
done

say "Secret Manager secrets"
for entry in "${SECRETS[@]}"; do
  secret=${entry%%:*}
  variable=${entry#*:}
  ensure "${gc[@]}" secrets describe "$secret" -- \
    "${gc[@]}" secrets create "$secret" --replication-policy automatic
  if [ -n "${!variable:-}" ]; then
    # The value goes on stdin, never on a command line or into this output.
    printf '%s (value from $%s, added only if it differs from the latest version)\n' \
      "$(show "${gc[@]}" secrets versions add "$secret" --data-file -)" "$variable"
    if [ "$dry_run" -eq 0 ]; then
      current=$("${gc[@]}" secrets versions access latest --secret "$secret" 2>/dev/null || true)
      if [ "$current" != "${!variable}" ]; then
        printf '%s' "${!variable}" | "${gc[@]}" secrets versions add "$secret" --data-file -
      fi
      unset current
    fi
  elif [ "$dry_run" -eq 0 ] && [ -z "$("${gc[@]}" secrets versions list "$secret" --limit 1 --format 'value(name)')" ]; then
    echo "deploy.sh: secret $secret has no value yet: set $variable for this run" >&2
    exit 2
  fi
done

say "service account $GSA_EMAIL"
ensure "${gc[@]}" iam service-accounts describe "$GSA_EMAIL" -- \
  "${gc[@]}" iam service-accounts create "$GSA_NAME" --display-name "sgroute Dagster (GKE Workload Identity)"
# Objects in the bucket, and storage.buckets.get (the GCS IO manager checks the bucket exists).
for role in roles/storage.objectAdmin roles/storage.legacyBucketReader; do
  run "${gc[@]}" storage buckets add-iam-policy-binding "gs://$SGROUTE_BUCKET" \
    --member "serviceAccount:$GSA_EMAIL" --role "$role"
done
for entry in "${SECRETS[@]}"; do
  run "${gc[@]}" secrets add-iam-policy-binding "${entry%%:*}" \
    --member "serviceAccount:$GSA_EMAIL" --role roles/secretmanager.secretAccessor
done
run "${gc[@]}" iam service-accounts add-iam-policy-binding "$GSA_EMAIL" --role roles/iam.workloadIdentityUser \
  --member "serviceAccount:${GCP_PROJECT}.svc.id.goog[${K8S_NAMESPACE}/${KSA_NAME}]"

say "image $IMAGE_REPOSITORY:$IMAGE_TAG"
if [ "$BUILD_WITH" = cloudbuild ]; then
  run "${gc[@]}" builds submit "$root" --config "$here/cloudbuild.yaml" \
    --substitutions "_IMAGE=$IMAGE_REPOSITORY:$IMAGE_TAG"
else
  run "${gc[@]}" auth configure-docker "${GCP_REGION}-docker.pkg.dev"
  run docker build -f "$root/deploy/Dockerfile" -t "$IMAGE_REPOSITORY:$IMAGE_TAG" "$root"
  run docker push "$IMAGE_REPOSITORY:$IMAGE_TAG"
fi

# --- Kubernetes -------------------------------------------------------------------------------------------------
say "cluster $GKE_CLUSTER, namespace $K8S_NAMESPACE"
run "${gc[@]}" container clusters get-credentials "$GKE_CLUSTER" --region "$GCP_REGION"
ensure kubectl get namespace "$K8S_NAMESPACE" -- kubectl create namespace "$K8S_NAMESPACE"
show kubectl get crd externalsecrets.external-secrets.io
if [ "$dry_run" -eq 0 ] && ! kubectl get crd externalsecrets.external-secrets.io >/dev/null 2>&1; then
  echo "deploy.sh: the External Secrets Operator is not installed in $GKE_CLUSTER (see deploy/README.md)" >&2
  exit 2
fi
render "$here/kubernetes.yaml" "$work/kubernetes.yaml"
run "${kc[@]}" apply -f "$work/kubernetes.yaml"
for secret in sgroute-secrets sgroute-dagster-postgresql; do
  run "${kc[@]}" wait --for condition=Ready "externalsecret/$secret" --timeout 180s
done

say "migrations (sgroute db upgrade, dagster instance migrate) before the new version serves"
render "$here/migrate-job.yaml" "$work/migrate-job.yaml"
job="sgroute-migrate-$IMAGE_TAG"
run "${kc[@]}" delete job "$job" --ignore-not-found --wait
run "${kc[@]}" apply -f "$work/migrate-job.yaml"
show "${kc[@]}" wait --for condition=complete "job/$job" --timeout 900s
if [ "$dry_run" -eq 0 ] && ! "${kc[@]}" wait --for condition=complete "job/$job" --timeout 900s; then
  "${kc[@]}" logs "job/$job" --tail 200 >&2 || true
  echo "deploy.sh: the migration Job failed; nothing was upgraded (the running version keeps serving)" >&2
  exit 1
fi

say "Dagster chart $CHART_VERSION, release $RELEASE"
render "$root/deploy/helm/values.yaml" "$work/values.yaml"
run helm repo add dagster https://dagster-io.github.io/helm --force-update
run helm repo update dagster
run helm upgrade --install "$RELEASE" dagster/dagster --version "$CHART_VERSION" --namespace "$K8S_NAMESPACE" \
  -f "$work/values.yaml" --wait --timeout 15m

if [ "$dry_run" -eq 1 ]; then
  echo
  echo "dry run: nothing was changed"
fi
