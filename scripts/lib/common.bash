# Sourced by the scripts in scripts/ (not run): what each of them needs before it starts.

# require <script> <tool>...: exit 2, naming the tool, unless every tool is on PATH.
require() {
  local script=$1 tool
  shift
  for tool in "$@"; do
    command -v "$tool" >/dev/null 2>&1 || { echo "$script: $tool is required" >&2; exit 2; }
  done
}

# cinegit_bin: the path of the program's binary (CINEGIT_BIN, or bin/cinegit built from the
# working tree when missing), for its offline `plan`. Run from the repository's root.
cinegit_bin() {
  local bin=${CINEGIT_BIN:-bin/cinegit}
  if [ ! -x "$bin" ]; then
    go build -o "$bin" . >&2
  fi
  echo "$bin"
}

# helm_pull <chart> <repo> <version> [helm pull flags]: pull a pinned chart. An OCI chart
# (oci://registry/path/name) comes with no repository ("" here): Helm pulls the reference itself.
helm_pull() {
  local chart=$1 repo=$2 version=$3
  shift 3
  if [ -z "$repo" ]; then
    helm pull "$chart" --version "$version" "$@"
  else
    helm pull "$chart" --repo "$repo" --version "$version" "$@"
  fi
}
