# Shared by every check script in conformance/tests/ (sourced first): where the repository and
# the build are, and the ok/not_ok lines ci/run-tests counts. Sets root (the repository, also
# the working directory afterwards), build (BUILD, made absolute; default build) and failures.
# Not a test on its own.
# shellcheck shell=bash
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
build=${BUILD:-build}
case $build in /*) ;; *) build="$PWD/$build" ;; esac
cd "$root" || exit 1

failures=0
ok() { echo "ok - $*"; }
not_ok() {
    echo "not ok - $1"
    shift
    local line
    for line in "$@"; do
        printf '%s\n' "$line" | sed 's/^/#   /'
    done
    failures=$((failures + 1))
}
